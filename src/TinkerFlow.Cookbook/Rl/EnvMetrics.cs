namespace TinkerFlow.Cookbook.Rl;

/// <summary>The cookbook's <c>env/all/*</c> metrics of a batch of trajectory groups.</summary>
public static class EnvMetrics
{
    /// <summary>
    /// <c>env/all/reward/total</c>, the mean of every per-transition metric (<c>env/all/&lt;key&gt;</c>),
    /// <c>env/all/ac_tokens_per_turn</c>, <c>env/all/total_episodes</c> and the <c>by_group</c> fractions (mixed, all good
    /// = every reward above <paramref name="goodThreshold"/>, all bad).
    /// </summary>
    /// <param name="groups_P">The groups.</param>
    /// <param name="goodThreshold">The reward above which an episode counts as good.</param>
    /// <returns>The metrics; empty when there are no groups.</returns>
    public static IReadOnlyDictionary<string, double> Compute(IReadOnlyList<TrajectoryGroup> groups_P, double goodThreshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(groups_P);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (groups_P.Count == 0)
        {
            return metrics;
        }

        var rewards_P_G = groups_P.Select(g => g.GetTotalRewards()).ToList();
        var transitions = groups_P.SelectMany(g => g.Trajectories).SelectMany(t => t.Transitions).ToList();
        metrics["env/all/reward/total"] = rewards_P_G.SelectMany(r => r).Average();
        foreach (var key in transitions.Where(t => t.Metrics is not null).SelectMany(t => t.Metrics!.Keys).Distinct())
        {
            metrics[$"env/all/{key}"] = transitions.Where(t => t.Metrics?.ContainsKey(key) == true).Average(t => t.Metrics![key]);
        }

        metrics["env/all/ac_tokens_per_turn"] = transitions.Count == 0 ? 0 : transitions.Average(t => t.Action.Tokens.Count);
        metrics["env/all/total_episodes"] = rewards_P_G.Sum(r => r.Length);
        metrics["env/all/by_group/frac_mixed"] = rewards_P_G.Count(r => !ConstantRewardGroups.IsConstant(r)) / (double)groups_P.Count;
        metrics["env/all/by_group/frac_all_good"] = rewards_P_G.Count(r => r.All(x => x > goodThreshold)) / (double)groups_P.Count;
        metrics["env/all/by_group/frac_all_bad"] = rewards_P_G.Count(r => r.All(x => x <= goodThreshold)) / (double)groups_P.Count;
        return metrics;
    }
}
