using TinkerFlow.Types;

namespace TinkerFlow;

/// <summary>
/// The client-side half of a custom loss, as the linearised backward sees it (wire-protocol §10.5): from each datum's
/// log-probabilities of its <c>target_tokens</c> (float32, shaped like <c>target_tokens</c>), the loss value, its gradient
/// with respect to every log-probability, and metrics. The public form is TinkerFlow.Torch's <c>TorchLossFunction</c>,
/// which computes the gradients by autograd; this layer only moves numbers.
/// </summary>
/// <param name="logprobs">Per datum, the current model's log-probabilities of <c>target_tokens</c>.</param>
/// <returns>The loss, its gradients and metrics.</returns>
internal delegate LogprobGradients LogprobLossFunction(IReadOnlyList<TensorData> logprobs);

/// <summary>The output of a <see cref="LogprobLossFunction"/>.</summary>
/// <param name="Loss">The scalar loss value (reported as <c>custom_loss</c>, never sent).</param>
/// <param name="Gradients">Per datum, ∂loss/∂logprobs in row-major order, as many values as that datum's log-probabilities.</param>
/// <param name="Metrics">Metrics merged into the step's result (they win over the backend's).</param>
internal sealed record LogprobGradients(double Loss, IReadOnlyList<float[]> Gradients, IReadOnlyDictionary<string, double>? Metrics = null);
