using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Rl;

public class TrajectoryToDatumTests
{
    [Fact]
    public void TrajectoryToDatum_PromptAndCompletion_AlignsShiftedArrays()
    {
        var completion = new TokensWithLogprobs([20, 21], [-0.5, -0.25]);

        var datum = TrajectoryToDatum.FromPromptAndCompletion(ModelInput.FromInts([10, 11, 12]), completion, advantage: 2);

        Assert.Equal([10, 11, 12, 20], datum.Datum.ModelInput.ToInts());
        Assert.Equal([11L, 12, 20, 21], datum.TargetTokens);
        Assert.Equal([0f, 0, -0.5f, -0.25f], datum.SamplerLogprobs);
        Assert.Equal([0f, 0, 2, 2], datum.Advantages);
        Assert.Equal([0f, 0, 1, 1], datum.Mask);
        Assert.Equal(["advantages", "logprobs", "target_tokens"], datum.Datum.LossFnInputs.Keys.Order());
    }

    [Fact]
    public void TrajectoryToDatum_MultiTurnPrefixObservations_MergeIntoOneDatum()
    {
        var turn1 = new Transition(ModelInput.FromInts([1, 2]), RlTestData.Action(3, 4), 0, false);
        var turn2 = new Transition(ModelInput.FromInts([1, 2, 3, 4, 5]), RlTestData.Action(6), 1, true);

        var data = TrajectoryToDatum.Convert(new Trajectory([turn1, turn2]), advantage: 0.5);

        var datum = Assert.Single(data);
        Assert.Equal([1, 2, 3, 4, 5], datum.Datum.ModelInput.ToInts());
        Assert.Equal([2L, 3, 4, 5, 6], datum.TargetTokens);
        Assert.Equal([0f, 1, 1, 0, 1], datum.Mask);
        Assert.Equal([0f, 0.5f, 0.5f, 0, 0.5f], datum.Advantages);
        Assert.Equal([0f, -0.03f, -0.04f, 0, -0.06f], datum.SamplerLogprobs);
    }

    [Fact]
    public void TrajectoryToDatum_NonPrefixObservation_StartsNewDatum()
    {
        var turn1 = new Transition(ModelInput.FromInts([1, 2]), RlTestData.Action(3), 0, false);
        var turn2 = new Transition(ModelInput.FromInts([1, 9, 3, 7]), RlTestData.Action(8), 1, true);

        var data = TrajectoryToDatum.Convert(new Trajectory([turn1, turn2]), advantage: 1);

        Assert.Equal(2, data.Count);
        Assert.Equal([2L, 3], data[0].TargetTokens);
        Assert.Equal([9L, 3, 7, 8], data[1].TargetTokens);
        Assert.Equal([0f, 0, 0, 1], data[1].Mask);
    }

    [Fact]
    public void TrajectoryToDatum_MaskedAction_HasZeroMaskAndAdvantage()
    {
        var turn1 = new Transition(ModelInput.FromInts([1]), RlTestData.Action(2), 0, false) { MaskAction = true };
        var turn2 = new Transition(ModelInput.FromInts([1, 2, 3]), RlTestData.Action(4), 1, true);

        var datum = Assert.Single(TrajectoryToDatum.Convert(new Trajectory([turn1, turn2]), advantage: 1));

        Assert.Equal([0f, 0, 1], datum.Mask);
        Assert.Equal([0f, 0, 1], datum.Advantages);
        Assert.Equal(-0.02f, datum.SamplerLogprobs[0]);
    }

    [Fact]
    public void TrajectoryToDatum_FromGroups_UsesGroupRelativeAdvantages()
    {
        var prompt = ModelInput.FromInts([1, 2]);
        TrajectoryGroup[] groups_P =
        [
            new([new Trajectory([new Transition(prompt, RlTestData.Action(3), 1, true)]), new Trajectory([new Transition(prompt, RlTestData.Action(4), 0, true)])]),
            new([new Trajectory([new Transition(prompt, RlTestData.Action(5), 1, true)])]),
        ];

        var (datums_D, groupIndex_D) = TrajectoryToDatum.FromGroups(groups_P);

        Assert.Equal([0, 0, 1], groupIndex_D);
        Assert.Equal([0.5f, -0.5f, 0f], datums_D.Select(d => d.Advantages[^1]));
    }

    [Fact]
    public void TrajectoryToDatum_LogprobCountMismatch_Throws()
    {
        var bad = new TokensWithLogprobs([1, 2], [-0.1]);

        Assert.Throws<ArgumentException>(() => TrajectoryToDatum.FromPromptAndCompletion(ModelInput.FromInts([0]), bad, 1));
    }
}
