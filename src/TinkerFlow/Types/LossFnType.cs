namespace TinkerFlow.Types;

/// <summary>The built-in loss function names (<c>loss_fn</c>) of the official SDK.</summary>
public static class LossFnType
{
    /// <summary>Token-level cross entropy, <c>-logprob * weight</c>.</summary>
    public const string CrossEntropy = "cross_entropy";

    /// <summary>Importance-sampled policy gradient, <c>-ratio * advantage</c>.</summary>
    public const string ImportanceSampling = "importance_sampling";

    /// <summary>Clipped PPO objective.</summary>
    public const string Ppo = "ppo";

    /// <summary>CISPO: clipped, stop-gradient importance weight times log-prob.</summary>
    public const string Cispo = "cispo";

    /// <summary>DRO: log-prob advantage with a quadratic penalty.</summary>
    public const string Dro = "dro";

    /// <summary>All five names, in SDK order.</summary>
    public static IReadOnlyList<string> All { get; } = [CrossEntropy, ImportanceSampling, Ppo, Cispo, Dro];

    /// <summary>True when <paramref name="lossFn"/> is one of <see cref="All"/> (case-sensitive).</summary>
    /// <param name="lossFn">A loss function name.</param>
    public static bool IsKnown(string? lossFn) => lossFn is not null && All.Contains(lossFn, StringComparer.Ordinal);
}
