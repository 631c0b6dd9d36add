using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Rl;

/// <summary>
/// Sampler-versus-trainer health metrics from a training step (the cookbook's <c>compute_kl_sample_train</c>):
/// q = the sampler's logprobs stored in each datum, p = the trainer's logprobs returned by <c>forward_backward</c>,
/// averaged over action tokens (mask 1) of the whole batch.
/// </summary>
public static class KlMetrics
{
    /// <summary>Computes <see cref="RlMetricNames.KlSampleTrainV1"/>, <see cref="RlMetricNames.KlSampleTrainV2"/> and
    /// <see cref="RlMetricNames.Entropy"/>.</summary>
    /// <param name="datums_D">The datums that were trained.</param>
    /// <param name="trainingLogprobs_D">The trainer's logprobs per datum, [N] each.</param>
    /// <returns>The three metrics (NaN when no token is masked in).</returns>
    public static IReadOnlyDictionary<string, double> Compute(IReadOnlyList<RlDatum> datums_D, IReadOnlyList<float[]> trainingLogprobs_D)
    {
        ArgumentNullException.ThrowIfNull(datums_D);
        ArgumentNullException.ThrowIfNull(trainingLogprobs_D);
        if (datums_D.Count != trainingLogprobs_D.Count)
        {
            throw new ArgumentException($"Got {trainingLogprobs_D.Count} logprob arrays for {datums_D.Count} datums.", nameof(trainingLogprobs_D));
        }

        double diffSum = 0, diffSquareSum = 0, qSum = 0, count = 0;
        for (var d = 0; d < datums_D.Count; d++)
        {
            var q = datums_D[d].SamplerLogprobs;
            var p = trainingLogprobs_D[d];
            var mask = datums_D[d].Mask;
            if (p.Length != q.Length)
            {
                throw new ArgumentException($"Datum {d} has {q.Length} positions but {p.Length} training logprobs.", nameof(trainingLogprobs_D));
            }

            for (var i = 0; i < q.Length; i++)
            {
                if (mask[i] > 0)
                {
                    var diff = (double)q[i] - p[i];
                    diffSum += diff;
                    diffSquareSum += diff * diff;
                    qSum += q[i];
                    count++;
                }
            }
        }

        return new Dictionary<string, double>
        {
            [RlMetricNames.KlSampleTrainV1] = count > 0 ? diffSum / count : double.NaN,
            [RlMetricNames.KlSampleTrainV2] = count > 0 ? 0.5 * diffSquareSum / count : double.NaN,
            [RlMetricNames.Entropy] = count > 0 ? -qSum / count : double.NaN,
        };
    }

    /// <summary>Computes the metrics from a <c>forward_backward</c> result (its per-datum <c>logprobs</c>).</summary>
    /// <param name="datums_D">The datums that were trained, in request order.</param>
    /// <param name="output">The result.</param>
    /// <returns>The three metrics.</returns>
    public static IReadOnlyDictionary<string, double> Compute(IReadOnlyList<RlDatum> datums_D, ForwardBackwardOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        return Compute(datums_D, [.. output.LossFnOutputs.Select((o, d) => o.TryGetValue("logprobs", out var t)
            ? t.ToFloat32Array()
            : throw new ArgumentException($"loss_fn_outputs[{d}] has no 'logprobs'.", nameof(output)))]);
    }
}
