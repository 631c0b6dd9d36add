using static TorchSharp.torch;

namespace TinkerFlow.Local.Training;

/// <summary>
/// One datum's <c>loss_fn_inputs</c> after validation: converted to the loss dtype/device and shape-checked.
/// Tensors belong to the dispose scope that was active when they were prepared.
/// </summary>
internal sealed class LossDatumInputs
{
    /// <summary>Number of positions N (the datum's model_input length).</summary>
    public required long Length { get; init; }

    /// <summary>Targets per position: 1 for hard targets, K for soft targets.</summary>
    public required long TargetWidth { get; init; }

    /// <summary>Whether <see cref="Targets"/> is (N, K) (soft cross-entropy targets) rather than (N).</summary>
    public required bool IsSoft { get; init; }

    /// <summary><c>target_tokens</c>: [N] or [N, K] int64.</summary>
    public required Tensor Targets { get; init; }

    /// <summary><c>weights</c>: same shape as <see cref="Targets"/>, float; null means all ones.</summary>
    public Tensor? Weights { get; init; }

    /// <summary><c>logprobs</c> (sampler log-probs q): [N] float; null for cross_entropy.</summary>
    public Tensor? SamplerLogprobs { get; init; }

    /// <summary><c>advantages</c> (A): [N] float; null for cross_entropy.</summary>
    public Tensor? Advantages { get; init; }

    /// <summary>Per-token <c>clip_low_threshold</c>: [N] float; null means the config value.</summary>
    public Tensor? ClipLow { get; init; }

    /// <summary>Per-token <c>clip_high_threshold</c>: [N] float; null means the config value.</summary>
    public Tensor? ClipHigh { get; init; }
}
