using TinkerFlow.Types;

namespace TinkerFlow.Local.Sampling;

/// <summary>One sequence being decoded: its tokens and logprobs so far, and why it ended once it has.</summary>
internal sealed class SampledRow
{
    private readonly List<int> _tokens = [];
    private readonly List<double> _logprobs = [];

    /// <summary>The generated tokens so far (stop token included once hit).</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>Why the row ended, or null while it is still being decoded.</summary>
    public StopReason? StopReason { get; private set; }

    /// <summary>True once a stop condition or the token budget ended the row.</summary>
    public bool Finished => StopReason is not null;

    /// <summary>Appends a sampled token and its logprob.</summary>
    public void Append(int token, double logprob)
    {
        if (Finished)
        {
            throw new InvalidOperationException("the row has already finished.");
        }
        _tokens.Add(token);
        _logprobs.Add(logprob);
    }

    /// <summary>Marks the row as ended for <paramref name="reason"/>.</summary>
    public void Finish(StopReason reason) => StopReason = reason;

    /// <summary>The wire form of the finished row.</summary>
    public SampledSequence ToSequence() => new()
    {
        StopReason = StopReason ?? throw new InvalidOperationException("the row has not finished."),
        Tokens = [.. _tokens],
        Logprobs = [.. _logprobs],
    };
}
