using static TorchSharp.torch;

namespace TinkerFlow.Local.Training;

/// <summary>
/// A batch's validated <c>loss_fn_inputs</c> laid out token after token (datum 0's positions, then datum 1's, …), so a
/// loss can be computed over any run of consecutive tokens: the chunked LM head (<see cref="ChunkedLmHead"/>) never needs
/// the whole batch's logits at once. Built by <see cref="TinkerLosses.PrepareTokens"/>.
/// </summary>
/// <remarks>
/// Optional inputs some datums lack are filled with their neutral value (weights 1, clip thresholds from the config).
/// When any datum has soft targets (N, K) every datum is laid out K_max wide: extra columns point at token 0 with weight
/// 0, and a hard datum's target is column 0 with its own weight, which gives the same per-token loss.
/// </remarks>
internal sealed class TokenLossInputs
{
    /// <summary>The loss.</summary>
    public required LossFunctionSpec Spec { get; init; }

    /// <summary>The loss config with its defaults applied.</summary>
    public required IReadOnlyDictionary<string, double> Config { get; init; }

    /// <summary>Start of each datum in the token stream, plus the total as the last entry (B + 1 entries).</summary>
    public required long[] Offsets { get; init; }

    /// <summary>Each datum's own target width: 1 for hard targets, K for soft ones.</summary>
    public required long[] Widths { get; init; }

    /// <summary>Whether datum i's <c>logprobs</c> output is (N, K) rather than (N).</summary>
    public required bool[] Soft { get; init; }

    /// <summary>All tokens' inputs; <see cref="LossDatumInputs.Targets"/> is (total, K) when soft, else (total).</summary>
    public required LossDatumInputs All { get; init; }

    /// <summary>Number of tokens in the stream.</summary>
    public long TotalTokens => Offsets[^1];

    /// <summary>The gather index for <c>log_softmax(logits).gather(1, index)</c>. [total, K] int64</summary>
    public Tensor GatherIndex => All.IsSoft ? All.Targets : All.Targets.unsqueeze(1);

    /// <summary>Tokens [<paramref name="start"/>, start + <paramref name="count"/>) as inputs of <see cref="TinkerLosses"/>' per-token loss.</summary>
    public LossDatumInputs Slice(long start, long count) => new()
    {
        Length = count,
        TargetWidth = All.TargetWidth,
        IsSoft = All.IsSoft,
        Targets = All.Targets.narrow(0, start, count),
        Weights = All.Weights?.narrow(0, start, count),
        SamplerLogprobs = All.SamplerLogprobs?.narrow(0, start, count),
        Advantages = All.Advantages?.narrow(0, start, count),
        ClipLow = All.ClipLow?.narrow(0, start, count),
        ClipHigh = All.ClipHigh?.narrow(0, start, count),
    };
}
