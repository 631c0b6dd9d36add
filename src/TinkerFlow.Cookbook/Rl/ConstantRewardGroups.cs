namespace TinkerFlow.Cookbook.Rl;

/// <summary>
/// Drops groups whose members all got the same reward, since their advantages are all 0 and they contribute no gradient
/// (the cookbook's <c>remove_constant_reward_groups</c>, off by default there).
/// </summary>
public static class ConstantRewardGroups
{
    /// <summary>Keeps the groups whose rewards vary. If every group is constant, keeps the first one so the step
    /// still happens (with zero gradient) and the loop's bookkeeping stays regular.</summary>
    /// <typeparam name="TGroup">The group type.</typeparam>
    /// <param name="groups_P">The groups.</param>
    /// <param name="rewardsOf">Returns a group's rewards.</param>
    /// <returns>The kept groups, in order.</returns>
    public static IReadOnlyList<TGroup> Remove<TGroup>(IReadOnlyList<TGroup> groups_P, Func<TGroup, IReadOnlyList<double>> rewardsOf)
    {
        ArgumentNullException.ThrowIfNull(groups_P);
        ArgumentNullException.ThrowIfNull(rewardsOf);
        var kept = groups_P.Where(g => !IsConstant(rewardsOf(g))).ToList();
        return kept.Count == 0 && groups_P.Count > 0 ? [groups_P[0]] : kept;
    }

    /// <summary>Keeps the trajectory groups whose total rewards vary; see the generic overload.</summary>
    /// <param name="groups_P">The groups.</param>
    /// <returns>The kept groups, in order.</returns>
    public static IReadOnlyList<TrajectoryGroup> Remove(IReadOnlyList<TrajectoryGroup> groups_P) =>
        Remove(groups_P, g => g.GetTotalRewards());

    /// <summary>True when every reward equals the first (an empty or single-member group is constant).</summary>
    /// <param name="rewards_G">The rewards.</param>
    /// <returns>Whether the group is constant.</returns>
    public static bool IsConstant(IReadOnlyList<double> rewards_G)
    {
        ArgumentNullException.ThrowIfNull(rewards_G);
        for (var g = 1; g < rewards_G.Count; g++)
        {
            if (rewards_G[g] != rewards_G[0])
            {
                return false;
            }
        }

        return true;
    }
}
