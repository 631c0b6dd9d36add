using TinkerFlow.Types;

namespace TinkerFlow;

public partial class TrainingClient
{
    /// <summary>The metric under which the user's loss value is reported by a custom-loss call.</summary>
    internal const string CustomLossMetric = "custom_loss";

    /// <summary>
    /// Trains with a loss computed on the client from per-token log-probabilities (wire-protocol §10.5): a forward pass
    /// fetches the log-probabilities, <paramref name="lossFn"/> returns the loss gradient with respect to them, and a
    /// <c>cross_entropy</c> forward_backward with <c>weights = −gradient</c> applies exactly that gradient to the model.
    /// Only <c>target_tokens</c> go over the wire: every other loss input stays on the client (the forward pass gets
    /// zero weights, the backward pass the negated gradients).
    /// </summary>
    /// <param name="waitUntil">Return when the backward pass is queued, or when it is done.</param>
    /// <param name="data">Datums with <c>target_tokens</c>; any other loss inputs are for the caller's loss only.</param>
    /// <param name="lossFn">The loss, from the log-probabilities.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A future of the backward pass output, with <c>custom_loss</c> and the loss function's metrics merged in. Its
    /// <c>loss:sum</c> is the surrogate Σ logprob·gradient, not the user loss.</returns>
    /// <remarks>Costs one extra forward pass. The call waits for the forward pass before it returns.</remarks>
    internal async Task<TinkerFuture<ForwardBackwardOutput>> ForwardBackwardLinearisedAsync(
        WaitUntil waitUntil,
        IReadOnlyList<Datum> data,
        LogprobLossFunction lossFn,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lossFn);
        ValidateBatch(data, LossFnType.CrossEntropy);
        var targets = new TensorData[data.Count];
        var forwardData = new List<Datum>(data.Count);
        for (var i = 0; i < data.Count; i++)
        {
            if (!data[i].LossFnInputs.TryGetValue("target_tokens", out var t))
            {
                throw new ArgumentException($"data[{i}] has no target_tokens; custom losses need the target token of every position.", nameof(data));
            }

            targets[i] = t;
            forwardData.Add(WithTargetsAndWeights(data[i], t, TensorData.FromFloat32(new float[t.DenseElementCount], t.Shape)));
        }

        var forward = await ForwardAsync(WaitUntil.Completed, forwardData, LossFnType.CrossEntropy, cancellationToken: cancellationToken).ConfigureAwait(false);
        var outputs = forward.Value.LossFnOutputs;
        if (outputs.Count != data.Count)
        {
            throw new TinkerRequestException($"The backend's forward pass returned {outputs.Count} outputs for {data.Count} datums.", RequestErrorCategory.Server, requestId: forward.Id);
        }

        var logprobs = new List<TensorData>(outputs.Count);
        for (var i = 0; i < outputs.Count; i++)
        {
            if (!outputs[i].TryGetValue("logprobs", out var lp))
            {
                throw new TinkerRequestException($"The backend's forward output for datum {i} has no 'logprobs'; custom losses need them.", RequestErrorCategory.Server, requestId: forward.Id);
            }

            logprobs.Add(lp.ToDense());
        }

        var result = lossFn(logprobs) ?? throw new InvalidOperationException("The custom loss function returned null.");
        if (result.Gradients.Count != data.Count)
        {
            throw new InvalidOperationException($"The custom loss function returned {result.Gradients.Count} gradients for {data.Count} datums; return one per datum.");
        }

        var backward = new List<Datum>(data.Count);
        for (var i = 0; i < data.Count; i++)
        {
            var grad = result.Gradients[i] ?? throw new InvalidOperationException($"The custom loss function returned no gradient for datum {i}.");
            if (grad.Length != logprobs[i].ElementCount)
            {
                throw new InvalidOperationException($"Gradient {i} has {grad.Length} values but datum {i} has {logprobs[i].ElementCount} logprobs.");
            }

            var negated = new float[grad.Length];
            for (var t = 0; t < grad.Length; t++)
            {
                if (!float.IsFinite(grad[t]))
                {
                    throw new InvalidOperationException($"The gradient of the custom loss is {grad[t]} at datum {i}, position {t}; nothing was sent.");
                }

                negated[t] = -grad[t];
            }

            backward.Add(WithTargetsAndWeights(data[i], targets[i], TensorData.FromFloat32(negated, logprobs[i].Shape)));
        }

        var future = await ForwardBackwardAsync(WaitUntil.Started, backward, LossFnType.CrossEntropy, cancellationToken: cancellationToken).ConfigureAwait(false);
        var merged = new TinkerFuture<ForwardBackwardOutput>(future.Id, MergeMetricsAsync(future, result));
        if (waitUntil == WaitUntil.Completed)
        {
            await merged.WaitForCompletionAsync(cancellationToken).ConfigureAwait(false);
        }

        return merged;
    }

    private static Datum WithTargetsAndWeights(Datum datum, TensorData targets, TensorData weights) =>
        datum with { LossFnInputs = new Dictionary<string, TensorData> { ["target_tokens"] = targets, ["weights"] = weights } };

    private static async Task<ForwardBackwardOutput> MergeMetricsAsync(TinkerFuture<ForwardBackwardOutput> future, LogprobGradients result)
    {
        var output = await future.WaitForCompletionAsync().ConfigureAwait(false);
        var metrics = new Dictionary<string, double>(output.Metrics) { [CustomLossMetric] = result.Loss };
        if (result.Metrics is not null)
        {
            foreach (var (key, value) in result.Metrics)
            {
                metrics[key] = value;
            }
        }

        return output with { Metrics = metrics };
    }
}
