namespace TinkerFlow.Cookbook.Rl;

/// <summary>
/// Group-relative advantages (GRPO style, the cookbook's <c>compute_advantages</c>): A_i = R_i − mean_G(R).
/// </summary>
/// <remarks>
/// The default does not divide by the group's standard deviation, following Dr. GRPO and the cookbook (PR #589): std
/// normalisation up-weights groups that are nearly all right or all wrong and adds a length bias. Pass
/// <c>normalizeStd: true</c> for the original GRPO estimator, (R_i − mean) / (std + 1e-6) with the population std.
/// </remarks>
public static class GroupAdvantages
{
    /// <summary>Added to the standard deviation before dividing.</summary>
    public const double StdEpsilon = 1e-6;

    /// <summary>Computes one advantage per trajectory of a group.</summary>
    /// <param name="rewards_G">The G returns.</param>
    /// <param name="normalizeStd">Also divide by the group's (population) standard deviation plus <see cref="StdEpsilon"/>.</param>
    /// <returns><c>advantages_G</c>; all 0 for a constant group.</returns>
    public static double[] Compute(IReadOnlyList<double> rewards_G, bool normalizeStd = false)
    {
        ArgumentNullException.ThrowIfNull(rewards_G);
        if (ConstantRewardGroups.IsConstant(rewards_G))
        {
            return new double[rewards_G.Count];
        }

        var mean = rewards_G.Average();
        var advantages_G = rewards_G.Select(r => r - mean).ToArray();
        if (normalizeStd)
        {
            var std = Math.Sqrt(advantages_G.Sum(a => a * a) / advantages_G.Length);
            for (var g = 0; g < advantages_G.Length; g++)
            {
                advantages_G[g] /= std + StdEpsilon;
            }
        }

        return advantages_G;
    }

    /// <summary>Advantages of a trajectory group from its total rewards.</summary>
    /// <param name="group">The group.</param>
    /// <param name="normalizeStd">Also divide by the standard deviation.</param>
    /// <returns><c>advantages_G</c>.</returns>
    public static double[] Compute(TrajectoryGroup group, bool normalizeStd = false)
    {
        ArgumentNullException.ThrowIfNull(group);
        return Compute(group.GetTotalRewards(), normalizeStd);
    }
}
