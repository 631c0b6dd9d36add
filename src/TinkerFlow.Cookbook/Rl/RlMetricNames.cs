namespace TinkerFlow.Cookbook.Rl;

/// <summary>The cookbook's RL health metric names, so dashboards carry over.</summary>
public static class RlMetricNames
{
    /// <summary>mean(q − p) over action tokens: the sampler/trainer mismatch (healthy below 0.01).</summary>
    public const string KlSampleTrainV1 = "optim/kl_sample_train_v1";

    /// <summary>½·mean((q − p)²) over action tokens.</summary>
    public const string KlSampleTrainV2 = "optim/kl_sample_train_v2";

    /// <summary>−mean(q) over action tokens: a sample estimate of the policy's entropy.</summary>
    public const string Entropy = "optim/entropy";

    /// <summary>Mean (q − p_ref) over action tokens, against the KL reference model.</summary>
    public const string KlPolicyBase = "kl_policy_base";
}
