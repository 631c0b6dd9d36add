using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Fakes;

/// <summary>A sampling client that answers from scripts.</summary>
internal sealed class FakeSamplingClient : SamplingClient
{
    /// <summary>Maps a prompt to the sampled tokens.</summary>
    public Func<ModelInput, IReadOnlyList<int>>? Respond { get; set; }

    /// <summary>Maps a sequence to its prompt logprobs (null first).</summary>
    public Func<ModelInput, IReadOnlyList<double?>>? Score { get; set; }

    public List<SamplingParams> ParamsSeen { get; } = [];

    public override Task<TinkerFuture<SampleResponse>> SampleAsync(WaitUntil waitUntil, ModelInput prompt, int numSamples, SamplingParams samplingParams, bool includePromptLogprobs = false, int topkPromptLogprobs = 0, CancellationToken cancellationToken = default)
    {
        lock (ParamsSeen)
        {
            ParamsSeen.Add(samplingParams);
        }

        var tokens = Respond!(prompt);
        var response = new SampleResponse
        {
            Sequences = [new SampledSequence { StopReason = StopReason.Stop, Tokens = tokens, Logprobs = [.. tokens.Select(_ => -0.1)] }],
        };
        return Task.FromResult(TinkerFuture<SampleResponse>.FromResult("sample", response));
    }

    public override Task<IReadOnlyList<double?>> ComputeLogprobsAsync(ModelInput prompt, CancellationToken cancellationToken = default) =>
        Task.FromResult(Score!(prompt));
}
