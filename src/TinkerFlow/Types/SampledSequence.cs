namespace TinkerFlow.Types;

/// <summary>One completion: <c>{"stop_reason":"length"|"stop","tokens":[int],"logprobs"?:[float]}</c>.</summary>
public sealed record SampledSequence
{
    /// <summary>Why generation ended (<c>stop_reason</c>).</summary>
    public required StopReason StopReason { get; init; }

    /// <summary>The generated token ids (<c>tokens</c>).</summary>
    public required IReadOnlyList<int> Tokens { get; init; }

    /// <summary>Logprob of each generated token (<c>logprobs</c>); omitted when null.</summary>
    public IReadOnlyList<double>? Logprobs { get; init; }
}
