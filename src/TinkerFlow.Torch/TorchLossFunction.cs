using TinkerFlow.Types;
using TorchSharp;

namespace TinkerFlow.Torch;

/// <summary>
/// A loss computed on the client with TorchSharp (wire-protocol §10.5), for
/// <see cref="TrainingClientTorchExtensions.ForwardBackwardCustomAsync"/>.
/// </summary>
/// <param name="data">The datums exactly as passed to the call, extra <c>loss_fn_inputs</c> included (reference scores,
/// advantages, pair ids…): read them with <see cref="TensorDataTorchExtensions.ToTorch"/>.</param>
/// <param name="logprobs">Per datum, the current model's log-probabilities of its <c>target_tokens</c>: a float32 leaf
/// tensor shaped like <c>target_tokens</c>, with <c>requires_grad</c>.</param>
/// <returns>A scalar loss built from <paramref name="logprobs"/> (autograd differentiates it) and optional metrics.</returns>
/// <remarks>
/// The function runs inside a dispose scope that ends when the call has its gradients: every tensor it creates is
/// disposed then, so return metrics as numbers (<c>tensor.item&lt;float&gt;()</c>), never tensors kept for later.
/// </remarks>
public delegate TorchLossResult TorchLossFunction(IReadOnlyList<Datum> data, IReadOnlyList<torch.Tensor> logprobs);

/// <summary>The output of a <see cref="TorchLossFunction"/>.</summary>
/// <param name="Loss">The loss: a tensor with one element, connected by autograd to the log-probabilities. Its value is
/// reported as the <c>custom_loss</c> metric.</param>
/// <param name="Metrics">Metrics merged into the step's output metrics (they win over the backend's keys).</param>
public sealed record TorchLossResult(torch.Tensor Loss, IReadOnlyDictionary<string, double>? Metrics = null);
