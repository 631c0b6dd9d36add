using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Fakes;

/// <summary>A training client that records saves and answers forward with scripted logprobs.</summary>
internal sealed class FakeTrainingClient : TrainingClient
{
    private int _requests;

    public List<(string Kind, string Name, long? Ttl)> Saves { get; } = [];

    public List<IReadOnlyList<Datum>> ForwardCalls { get; } = [];

    /// <summary>Logprobs returned by <see cref="ForwardAsync"/>, one array per datum.</summary>
    public Func<IReadOnlyList<Datum>, IReadOnlyList<float[]>>? ForwardLogprobs { get; set; }

    public override string ModelId => "run-1";

    public override string BaseModel => "tinkerflow/tiny-qwen3";

    public override Task<TinkerFuture<SaveWeightsResponse>> SaveStateAsync(WaitUntil waitUntil, string name, long? ttlSeconds = null, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        Saves.Add(("state", name, ttlSeconds));
        return Task.FromResult(TinkerFuture<SaveWeightsResponse>.FromResult(NextId(), new SaveWeightsResponse { Path = $"tinker://run-1/weights/{name}" }));
    }

    public override Task<TinkerFuture<SaveWeightsForSamplerResponse>> SaveWeightsForSamplerAsync(WaitUntil waitUntil, string name, long? ttlSeconds = null, CancellationToken cancellationToken = default)
    {
        Saves.Add(("sampler", name, ttlSeconds));
        return Task.FromResult(TinkerFuture<SaveWeightsForSamplerResponse>.FromResult(NextId(), new SaveWeightsForSamplerResponse { Path = $"tinker://run-1/sampler_weights/{name}" }));
    }

    public override Task<TinkerFuture<ForwardBackwardOutput>> ForwardAsync(WaitUntil waitUntil, IReadOnlyList<Datum> data, string lossFn, IReadOnlyDictionary<string, double>? lossFnConfig = null, CancellationToken cancellationToken = default)
    {
        Assert.Equal(LossFnType.CrossEntropy, lossFn);
        ForwardCalls.Add(data);
        var logprobs = ForwardLogprobs!(data);
        var output = new ForwardBackwardOutput
        {
            LossFnOutputType = "ArrayRecord",
            LossFnOutputs = [.. logprobs.Select(lp => (IReadOnlyDictionary<string, TensorData>)new Dictionary<string, TensorData> { ["logprobs"] = TensorData.FromFloat32(lp) })],
        };
        return Task.FromResult(TinkerFuture<ForwardBackwardOutput>.FromResult(NextId(), output));
    }

    private string NextId() => $"req-{Interlocked.Increment(ref _requests)}";
}
