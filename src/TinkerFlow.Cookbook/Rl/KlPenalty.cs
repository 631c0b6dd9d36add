using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Rl;

/// <summary>
/// Penalises divergence from a reference model through the advantages (the cookbook's
/// <c>incorporate_kl_penalty</c>): with d_t = (q_t − p_ref,t)·mask_t and d̄ = Σd / Σmask over the batch, each
/// advantage becomes A_t += c·mask_t·(d̄ − d_t); with a discount γ &gt; 0 that term x_t is replaced by its discounted
/// future sum within the datum, mask_t·Σ_k γ^k x_{t+k}.
/// </summary>
/// <remarks>Unlike the cookbook, the discounted sum is masked again, so observation tokens keep advantage 0. The cookbook warns that sampling temperatures other than 1 do not play well with the KL penalty, since
/// q is then not the policy's logprob.</remarks>
public static class KlPenalty
{
    /// <summary>Applies the penalty.</summary>
    /// <param name="datums_D">The batch.</param>
    /// <param name="referenceLogprobs_D">The reference model's logprob of each target token, [N] per datum (see <see cref="ComputeReferenceLogprobsAsync(SamplingClient, IReadOnlyList{RlDatum}, CancellationToken)"/>).</param>
    /// <param name="coefficient">c (<c>kl_penalty_coef</c>).</param>
    /// <param name="discount">γ (<c>kl_discount_factor</c>); 0 = no discounting.</param>
    /// <returns>The datums with new advantages, and <see cref="RlMetricNames.KlPolicyBase"/> = d̄.</returns>
    public static (IReadOnlyList<RlDatum> Datums, double KlPolicyBase) Apply(IReadOnlyList<RlDatum> datums_D, IReadOnlyList<float[]> referenceLogprobs_D, double coefficient, double discount = 0)
    {
        ArgumentNullException.ThrowIfNull(datums_D);
        ArgumentNullException.ThrowIfNull(referenceLogprobs_D);
        ArgumentOutOfRangeException.ThrowIfNegative(coefficient);
        if (discount is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(discount), discount, "discount must be in [0, 1).");
        }

        if (datums_D.Count != referenceLogprobs_D.Count)
        {
            throw new ArgumentException($"Got {referenceLogprobs_D.Count} reference logprob arrays for {datums_D.Count} datums.", nameof(referenceLogprobs_D));
        }

        var diffs_D = new double[datums_D.Count][];
        double diffSum = 0, maskSum = 0;
        for (var d = 0; d < datums_D.Count; d++)
        {
            var q = datums_D[d].SamplerLogprobs;
            var reference = referenceLogprobs_D[d];
            var mask = datums_D[d].Mask;
            if (reference.Length != q.Length)
            {
                throw new ArgumentException($"Datum {d} has {q.Length} positions but {reference.Length} reference logprobs.", nameof(referenceLogprobs_D));
            }

            diffs_D[d] = new double[q.Length];
            for (var t = 0; t < q.Length; t++)
            {
                diffs_D[d][t] = ((double)q[t] - reference[t]) * mask[t];
                diffSum += diffs_D[d][t];
                maskSum += mask[t];
            }
        }

        var mean = maskSum > 0 ? diffSum / maskSum : 0;
        var result = new RlDatum[datums_D.Count];
        for (var d = 0; d < datums_D.Count; d++)
        {
            var mask = datums_D[d].Mask;
            var penalty = new double[mask.Length];
            for (var t = 0; t < mask.Length; t++)
            {
                penalty[t] = coefficient * mask[t] * (mean - diffs_D[d][t]);
            }

            if (discount > 0)
            {
                for (var t = penalty.Length - 2; t >= 0; t--)
                {
                    penalty[t] += discount * penalty[t + 1];
                }

                for (var t = 0; t < penalty.Length; t++)
                {
                    penalty[t] *= mask[t];
                }
            }

            var advantages = datums_D[d].Advantages;
            for (var t = 0; t < advantages.Length; t++)
            {
                advantages[t] = (float)(advantages[t] + penalty[t]);
            }

            result[d] = datums_D[d].WithAdvantages(advantages);
        }

        return (result, mean);
    }

    /// <summary>
    /// Scores each datum's full sequence (input plus last target token) with the reference sampler and drops position
    /// 0, so entry t is the reference logprob of <c>target_tokens[t]</c>.
    /// </summary>
    /// <param name="reference">A sampling client on the reference model (e.g. the base model).</param>
    /// <param name="datums_D">The batch; inputs must be text only.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <returns>[N] float32 per datum.</returns>
    public static Task<IReadOnlyList<float[]>> ComputeReferenceLogprobsAsync(SamplingClient reference, IReadOnlyList<RlDatum> datums_D, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(datums_D);
        return ComputeReferenceLogprobsAsync(reference, [.. datums_D.Select(d => d.Datum)], cancellationToken);
    }

    /// <summary>
    /// Scores each datum's full sequence (input plus last target token) with the reference sampler and drops position
    /// 0, so entry t is the reference logprob of <c>target_tokens[t]</c> (e.g. for a custom loss that reads them).
    /// </summary>
    /// <param name="reference">A sampling client on the reference model (e.g. the base model).</param>
    /// <param name="datums_D">The batch; inputs must be text only, each with <c>target_tokens</c>.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <returns>[N] float32 per datum.</returns>
    public static async Task<IReadOnlyList<float[]>> ComputeReferenceLogprobsAsync(SamplingClient reference, IReadOnlyList<Datum> datums_D, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(datums_D);
        var tasks = datums_D.Select(async d =>
        {
            var targets = d.LossFnInputs["target_tokens"].ToInt64Array();
            var full = d.ModelInput.AppendInt((int)targets[^1]);
            var logprobs = await reference.ComputeLogprobsAsync(full, cancellationToken).ConfigureAwait(false);
            if (logprobs.Count != targets.Length + 1)
            {
                throw new InvalidOperationException($"The reference returned {logprobs.Count} prompt logprobs for a {targets.Length + 1}-token sequence.");
            }

            return logprobs.Skip(1).Select(lp => (float)(lp ?? 0)).ToArray();
        });
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}
