using TinkerFlow.Types;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Torch;

/// <summary>Custom losses on a <see cref="TrainingClient"/>, written with TorchSharp tensors and autograd.</summary>
public static class TrainingClientTorchExtensions
{
    /// <summary>
    /// Trains with a loss computed on the client (the Python SDK's <c>forward_backward_custom</c>, wire-protocol §10.5):
    /// a forward pass fetches each datum's log-probabilities of its <c>target_tokens</c>; each becomes a float32 leaf
    /// tensor with <c>requires_grad</c>; <paramref name="lossFn"/> builds a scalar loss from them and autograd computes
    /// g = ∂loss/∂logprobs; then a <c>cross_entropy</c> forward_backward with <c>weights = −g</c> gives the model exactly
    /// the gradient of the user's loss, to be applied by the next optim_step.
    /// </summary>
    /// <param name="client">The training client (embedded engine or a Tinker service).</param>
    /// <param name="waitUntil">Return when the backward pass is queued, or when it is done.</param>
    /// <param name="data">Datums with <c>target_tokens</c>. Any other <c>loss_fn_inputs</c> (weights, reference
    /// scores, advantages, pair ids…) reach <paramref name="lossFn"/> only: both requests carry just
    /// <c>target_tokens</c> and the weights this call computes.</param>
    /// <param name="lossFn">The loss.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A future of the backward pass output. Its metrics hold the loss value as <c>custom_loss</c> and the
    /// loss function's metrics; its <c>loss:sum</c> is the surrogate Σ logprob·g, not the user's loss.</returns>
    /// <exception cref="ArgumentException">When a datum has no <c>target_tokens</c>, or the batch is empty.</exception>
    /// <exception cref="InvalidOperationException">When the loss is not a one-element floating-point tensor, does not
    /// depend on every datum's logprobs, or has a non-finite gradient; nothing is sent for the backward pass then.</exception>
    /// <remarks>
    /// Costs one extra forward pass, and the call waits for it before it returns. All tensors of the call, the loss
    /// function's included, live in one dispose scope that ends before the backward request is sent.
    /// </remarks>
    public static Task<TinkerFuture<ForwardBackwardOutput>> ForwardBackwardCustomAsync(
        this TrainingClient client,
        WaitUntil waitUntil,
        IReadOnlyList<Datum> data,
        TorchLossFunction lossFn,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(lossFn);
        return client.ForwardBackwardLinearisedAsync(waitUntil, data, logprobs => Gradients(data, logprobs, lossFn), cancellationToken);
    }

    /// <summary>Runs the loss on leaf tensors of <paramref name="logprobs"/> and returns its value, ∂loss/∂logprobs and metrics.</summary>
    internal static LogprobGradients Gradients(IReadOnlyList<Datum> data, IReadOnlyList<TensorData> logprobs, TorchLossFunction lossFn)
    {
        using var scope = torch.NewDisposeScope();
        using var gradMode = torch.enable_grad();
        var leaves = new Tensor[logprobs.Count];
        for (var i = 0; i < leaves.Length; i++)
        {
            leaves[i] = logprobs[i].ToTorch().to(ScalarType.Float32).requires_grad_(true);
        }

        var result = lossFn(data, leaves) ?? throw new InvalidOperationException("The TorchSharp loss function returned null; return a TorchLossResult.");
        var loss = result.Loss ?? throw new InvalidOperationException("The TorchSharp loss function returned a null Loss tensor.");
        if (loss.numel() != 1)
        {
            throw new InvalidOperationException($"The loss must be a scalar, but it has shape [{string.Join(", ", loss.shape)}]; reduce it with .sum() or .mean().");
        }

        if (!loss.is_floating_point())
        {
            throw new InvalidOperationException($"The loss must be a floating-point tensor, but it is {loss.dtype}.");
        }

        if (!loss.requires_grad)
        {
            throw new InvalidOperationException("The loss does not depend on the logprobs (it has no autograd graph); build it from the logprob tensors the loss function receives, outside torch.no_grad().");
        }

        loss.backward();
        var gradients = new float[leaves.Length][];
        for (var i = 0; i < leaves.Length; i++)
        {
            var grad = leaves[i].grad
                ?? throw new InvalidOperationException($"The loss does not use the logprobs of datum {i}; every datum must take part (multiply its logprobs by 0 to leave it out).");
            gradients[i] = grad.contiguous().data<float>().ToArray();
        }

        var value = loss.detach().to(ScalarType.Float64).item<double>();
        return new LogprobGradients(value, gradients, result.Metrics);
    }
}
