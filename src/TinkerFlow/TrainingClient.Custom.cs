using TinkerFlow.Types;

namespace TinkerFlow;

public partial class TrainingClient
{
    /// <summary>
    /// Trains with a loss computed on the client from per-token log-probabilities (wire-protocol §10.5): a forward pass
    /// fetches the log-probabilities, <paramref name="lossFn"/> returns the loss gradient with respect to them, and a
    /// <c>cross_entropy</c> forward_backward with <c>weights = −gradient</c> applies exactly that gradient to the model.
    /// </summary>
    /// <param name="waitUntil">Return when the backward pass is queued, or when it is done.</param>
    /// <param name="data">Datums with <c>target_tokens</c> and optionally <c>weights</c> (no other inputs).</param>
    /// <param name="lossFn">The loss.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A future of the backward pass output, with the loss function's metrics merged in. Its
    /// <c>loss:sum</c> is the surrogate Σ logprob·gradient, not the user loss.</returns>
    /// <remarks>Costs one extra forward pass. The call waits for the forward pass before it returns.</remarks>
    public virtual async Task<TinkerFuture<ForwardBackwardOutput>> ForwardBackwardCustomAsync(
        WaitUntil waitUntil,
        IReadOnlyList<Datum> data,
        CustomLossFunction lossFn,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lossFn);
        ValidateBatch(data, LossFnType.CrossEntropy);
        var prepared = new List<Datum>(data.Count);
        for (var i = 0; i < data.Count; i++)
        {
            var datum = data[i];
            if (!datum.LossFnInputs.TryGetValue("target_tokens", out var targets))
            {
                throw new ArgumentException($"data[{i}] has no target_tokens; custom losses need target_tokens (and optionally weights).", nameof(data));
            }

            var extra = datum.LossFnInputs.Keys.Where(k => k is not "target_tokens" and not "weights").ToList();
            if (extra.Count > 0)
            {
                throw new ArgumentException($"data[{i}] has loss_fn_inputs {string.Join(", ", extra)}; custom losses accept only target_tokens and weights.", nameof(data));
            }

            prepared.Add(datum.LossFnInputs.ContainsKey("weights")
                ? datum
                : datum with
                {
                    LossFnInputs = new Dictionary<string, TensorData>
                    {
                        ["target_tokens"] = targets,
                        ["weights"] = TensorData.FromFloat32(new float[targets.ElementCount], targets.Shape),
                    },
                });
        }

        var forward = await ForwardAsync(WaitUntil.Completed, prepared, LossFnType.CrossEntropy, cancellationToken: cancellationToken).ConfigureAwait(false);
        var outputs = forward.Value.LossFnOutputs;
        var logprobs = new List<float[]>(outputs.Count);
        for (var i = 0; i < outputs.Count; i++)
        {
            if (!outputs[i].TryGetValue("logprobs", out var lp))
            {
                throw new TinkerRequestException($"The backend's forward output for datum {i} has no 'logprobs'; custom losses need them.", RequestErrorCategory.Server, requestId: forward.Id);
            }

            logprobs.Add(lp.ToFloat32Array());
        }

        var result = lossFn(prepared, logprobs) ?? throw new InvalidOperationException("The custom loss function returned null.");
        if (result.Gradients.Count != prepared.Count)
        {
            throw new InvalidOperationException($"The custom loss function returned {result.Gradients.Count} gradients for {prepared.Count} datums; return one per datum.");
        }

        var backward = new List<Datum>(prepared.Count);
        for (var i = 0; i < prepared.Count; i++)
        {
            var grad = result.Gradients[i] ?? throw new InvalidOperationException($"The custom loss function returned no gradient for datum {i} (the loss may not depend on its logprobs).");
            if (grad.Length != logprobs[i].Length)
            {
                throw new InvalidOperationException($"Gradient {i} has {grad.Length} values but datum {i} has {logprobs[i].Length} logprobs.");
            }

            var negated = new float[grad.Length];
            for (var t = 0; t < grad.Length; t++)
            {
                negated[t] = -grad[t];
            }

            var targets = prepared[i].LossFnInputs["target_tokens"];
            backward.Add(prepared[i] with
            {
                LossFnInputs = new Dictionary<string, TensorData>
                {
                    ["target_tokens"] = targets,
                    ["weights"] = TensorData.FromFloat32(negated, targets.Shape),
                },
            });
        }

        var future = await ForwardBackwardAsync(WaitUntil.Started, backward, LossFnType.CrossEntropy, cancellationToken: cancellationToken).ConfigureAwait(false);
        var merged = new TinkerFuture<ForwardBackwardOutput>(future.Id, MergeMetricsAsync(future, result));
        if (waitUntil == WaitUntil.Completed)
        {
            await merged.WaitForCompletionAsync(cancellationToken).ConfigureAwait(false);
        }

        return merged;
    }

    private static async Task<ForwardBackwardOutput> MergeMetricsAsync(TinkerFuture<ForwardBackwardOutput> future, CustomLossResult result)
    {
        var output = await future.WaitForCompletionAsync().ConfigureAwait(false);
        var metrics = new Dictionary<string, double>(output.Metrics);
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
