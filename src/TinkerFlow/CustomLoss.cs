using TinkerFlow.Types;

namespace TinkerFlow;

/// <summary>
/// A loss computed on the client from per-token log-probabilities (wire-protocol §10.5).
/// </summary>
/// <param name="data">The datums, as passed to <see cref="TrainingClient.ForwardBackwardCustomAsync"/>.</param>
/// <param name="logprobs">Per datum, the current model's log-probabilities of <c>target_tokens</c> (float32, shape of <c>target_tokens</c>).</param>
/// <returns>The loss, its gradient with respect to every log-probability, and metrics.</returns>
/// <remarks>TinkerFlow.Local offers an overload that takes a TorchSharp function and computes the gradients by autograd.</remarks>
public delegate CustomLossResult CustomLossFunction(IReadOnlyList<Datum> data, IReadOnlyList<float[]> logprobs);

/// <summary>The output of a <see cref="CustomLossFunction"/>.</summary>
/// <param name="Loss">The scalar loss value (reported, not sent).</param>
/// <param name="Gradients">Per datum, ∂loss/∂logprobs, the same length as that datum's log-probabilities.</param>
/// <param name="Metrics">Metrics merged into the step's result (user keys win).</param>
public sealed record CustomLossResult(double Loss, IReadOnlyList<float[]> Gradients, IReadOnlyDictionary<string, double>? Metrics = null);
