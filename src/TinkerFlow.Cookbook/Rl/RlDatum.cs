using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Rl;

/// <summary>
/// A policy-gradient datum plus its action mask. <see cref="Datum"/> carries <c>target_tokens</c> [N] int64,
/// <c>logprobs</c> [N] float32 (sampler logprobs, 0 on observation tokens) and <c>advantages</c> [N] float32 (0 on
/// observation tokens), ready for <c>importance_sampling</c>, <c>ppo</c> or <c>cispo</c>. The mask [N] (1 on trained
/// action tokens) stays on the client, for KL metrics and the KL penalty; it is never sent.
/// </summary>
/// <param name="Datum">The datum to send.</param>
/// <param name="Mask">[N] 1 where the target is a trained action token, else 0.</param>
public sealed record RlDatum(Datum Datum, float[] Mask)
{
    /// <summary>The target tokens, [N].</summary>
    public long[] TargetTokens => Datum.LossFnInputs["target_tokens"].ToInt64Array();

    /// <summary>The sampler logprobs q, [N].</summary>
    public float[] SamplerLogprobs => Datum.LossFnInputs["logprobs"].ToFloat32Array();

    /// <summary>The advantages, [N].</summary>
    public float[] Advantages => Datum.LossFnInputs["advantages"].ToFloat32Array();

    /// <summary>A copy with new advantages.</summary>
    /// <param name="advantages">[N] float32.</param>
    /// <returns>The new datum.</returns>
    public RlDatum WithAdvantages(float[] advantages)
    {
        ArgumentNullException.ThrowIfNull(advantages);
        if (advantages.Length != Mask.Length)
        {
            throw new ArgumentException($"advantages has {advantages.Length} entries; the datum has {Mask.Length} positions.", nameof(advantages));
        }

        var inputs = new Dictionary<string, TensorData>(Datum.LossFnInputs) { ["advantages"] = TensorData.FromFloat32(advantages) };
        return this with { Datum = Datum with { LossFnInputs = inputs } };
    }
}
