using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Rl;

public class GroupAdvantagesTests
{
    [Fact]
    public void GroupAdvantages_CentersOnGroupMeanWithoutStd()
    {
        double[] rewards_G = [1, 0, 0, 1];

        Assert.Equal([0.5, -0.5, -0.5, 0.5], GroupAdvantages.Compute(rewards_G));
    }

    [Fact]
    public void GroupAdvantages_NormalizeStd_DividesByPopulationStd()
    {
        double[] rewards_G = [3, 1];

        var advantages_G = GroupAdvantages.Compute(rewards_G, normalizeStd: true);

        Assert.Equal(1 / (1 + GroupAdvantages.StdEpsilon), advantages_G[0], 12);
        Assert.Equal(-1 / (1 + GroupAdvantages.StdEpsilon), advantages_G[1], 12);
    }

    [Fact]
    public void GroupAdvantages_ConstantGroup_IsAllZero()
    {
        Assert.All(GroupAdvantages.Compute([0.7, 0.7, 0.7], normalizeStd: true), a => Assert.Equal(0.0, a));
    }

    [Fact]
    public void GroupAdvantages_TrajectoryGroup_UsesStepPlusFinalRewards()
    {
        var prompt = ModelInput.FromInts([1]);
        var group = new TrajectoryGroup(
            [
                new Trajectory([new Transition(prompt, RlTestData.Action(5), Reward: 1, EpisodeDone: true)]),
                new Trajectory([new Transition(prompt, RlTestData.Action(6), Reward: 0, EpisodeDone: true)]),
            ],
            finalRewards: [0, 3]);

        Assert.Equal([1.0, 3.0], group.GetTotalRewards());
        Assert.Equal([-1.0, 1.0], GroupAdvantages.Compute(group));
    }

    [Fact]
    public void ConstantRewardGroups_RemovesConstantGroupsButKeepsOneIfAllAre()
    {
        double[][] groups_P = [[1, 1], [0, 1], [0, 0], [2, 3]];
        double[][] allConstant_P = [[1, 1], [0, 0]];

        Assert.Equal([groups_P[1], groups_P[3]], ConstantRewardGroups.Remove(groups_P, g => g));
        Assert.Equal([allConstant_P[0]], ConstantRewardGroups.Remove(allConstant_P, g => g));
    }
}
