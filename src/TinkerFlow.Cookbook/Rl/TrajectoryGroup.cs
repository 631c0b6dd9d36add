namespace TinkerFlow.Cookbook.Rl;

/// <summary>
/// The G trajectories sampled for one problem, with the group-level reward of each (the cookbook's
/// <c>TrajectoryGroup</c>). Advantages are centred within a group.
/// </summary>
public sealed record TrajectoryGroup
{
    /// <summary>Creates a group.</summary>
    /// <param name="trajectories">The G trajectories.</param>
    /// <param name="finalRewards">One group reward per trajectory (e.g. pairwise wins − losses); null = all 0.</param>
    public TrajectoryGroup(IReadOnlyList<Trajectory> trajectories, IReadOnlyList<double>? finalRewards = null)
    {
        ArgumentNullException.ThrowIfNull(trajectories);
        finalRewards ??= new double[trajectories.Count];
        if (finalRewards.Count != trajectories.Count)
        {
            throw new ArgumentException($"Got {finalRewards.Count} final rewards for {trajectories.Count} trajectories.", nameof(finalRewards));
        }

        Trajectories = trajectories;
        FinalRewards = finalRewards;
    }

    /// <summary>The G trajectories (<c>trajectories_G</c>).</summary>
    public IReadOnlyList<Trajectory> Trajectories { get; }

    /// <summary>The group reward of each trajectory (<c>final_rewards_G</c>).</summary>
    public IReadOnlyList<double> FinalRewards { get; }

    /// <summary>Each trajectory's return: the sum of its step rewards plus its group reward.</summary>
    /// <returns><c>rewards_G</c>.</returns>
    public double[] GetTotalRewards()
    {
        var rewards_G = new double[Trajectories.Count];
        for (var g = 0; g < rewards_G.Length; g++)
        {
            rewards_G[g] = Trajectories[g].StepRewardSum + FinalRewards[g];
        }

        return rewards_G;
    }
}
