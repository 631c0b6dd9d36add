using TinkerFlow.Cookbook.Rl;

namespace TinkerFlow.Cookbook.Trainers;

/// <summary>
/// A model that scores every token the policy samples, for a KL penalty through the advantages (cookbook §3.6,
/// <see cref="KlPenalty"/>): with d_t = log q_t − log p_ref,t and d̄ its mean over the minibatch's sampled tokens,
/// A_t += c·(d̄ − d_t). RL against the base model keeps the policy near it; distillation pulls the student toward a teacher.
/// </summary>
/// <param name="Name">For descriptions, e.g. <c>teacher</c>.</param>
/// <param name="Sampler">The reference model (its <c>compute_logprobs</c> scores prompt plus completion).</param>
public sealed record KlReference(string Name, SamplingClient Sampler)
{
    /// <summary>c (<c>kl_penalty_coef</c>).</summary>
    public double Coefficient { get; init; } = 1.0;

    /// <summary>γ (<c>kl_discount_factor</c>); 0 = no discounting.</summary>
    public double Discount { get; init; }

    /// <summary>The metric d̄ is published under: <c>kl_policy_base</c>, or <c>teacher_kl</c> when distilling.</summary>
    public string MetricName { get; init; } = RlMetricNames.KlPolicyBase;
}
