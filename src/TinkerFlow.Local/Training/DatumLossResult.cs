using static TorchSharp.torch;

namespace TinkerFlow.Local.Training;

/// <summary>
/// The loss of one datum. Tensors are moved to the caller's dispose scope.
/// </summary>
/// <param name="Loss">Scalar float32, attached to the autograd graph: the sum of the per-token losses.</param>
/// <param name="Logprobs">
/// Detached float32 copy on the CPU of the learner log-probs of the targets: [N] for hard targets, [N, K] for soft
/// cross-entropy targets (one log-prob per target token). This is the datum's <c>logprobs</c> output.
/// </param>
/// <param name="ElementwiseLoss">
/// Detached float32 copy on the CPU of the weighted per-token loss, [N]; sums to <paramref name="LossValue"/>.
/// This is the datum's <c>elementwise_loss</c> output.
/// </param>
/// <param name="LossValue">The loss as a double, for metrics.</param>
internal sealed record DatumLossResult(Tensor Loss, Tensor Logprobs, Tensor ElementwiseLoss, double LossValue);
