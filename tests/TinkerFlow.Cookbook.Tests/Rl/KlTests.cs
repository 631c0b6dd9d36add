using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Cookbook.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Rl;

public class KlTests
{
    [Fact]
    public void KlMetrics_HandExample_AveragesOverActionTokens()
    {
        var datum = RlTestData.Datum(mask: [0, 1, 1], q: [0, -1, -2], advantages: [0, 1, 1]);

        var metrics = KlMetrics.Compute([datum], [new float[] { -5, -1.5f, -1 }]);

        Assert.Equal(-0.25, metrics[RlMetricNames.KlSampleTrainV1], 9);
        Assert.Equal(0.3125, metrics[RlMetricNames.KlSampleTrainV2], 9);
        Assert.Equal(1.5, metrics[RlMetricNames.Entropy], 9);
    }

    [Fact]
    public void KlMetrics_FromForwardBackwardOutput_ReadsLogprobs()
    {
        var datum = RlTestData.Datum(mask: [1, 1, 1], q: [-1, -1, -1], advantages: [0, 0, 0]);
        var output = new ForwardBackwardOutput
        {
            LossFnOutputType = "ArrayRecord",
            LossFnOutputs = [new Dictionary<string, TensorData> { ["logprobs"] = TensorData.FromFloat32([-1f, -1, -1]) }],
        };

        Assert.Equal(0.0, KlMetrics.Compute([datum], output)[RlMetricNames.KlSampleTrainV1]);
    }

    [Fact]
    public void KlPenalty_HandExample_AddsCenteredPenaltyOnActionTokens()
    {
        var datum = RlTestData.Datum(mask: [0, 1, 1], q: [0, -1, -2], advantages: [0, 1, 1]);

        var (data, klPolicyBase) = KlPenalty.Apply([datum], [new float[] { 0, -1.5f, -1 }], coefficient: 1);

        // d = [0, 0.5, −1], d̄ = −0.25, A += d̄ − d.
        Assert.Equal(-0.25, klPolicyBase, 9);
        Assert.Equal([0f, 0.25f, 1.75f], data[0].Advantages);
        Assert.Equal(datum.Mask, data[0].Mask);
    }

    [Fact]
    public void KlPenalty_Discount_SumsFuturePenaltiesOnActionTokens()
    {
        var datum = RlTestData.Datum(mask: [0, 1, 1], q: [0, -1, -2], advantages: [0, 1, 1]);

        var (data, _) = KlPenalty.Apply([datum], [new float[] { 0, -1.5f, -1 }], coefficient: 1, discount: 0.5);

        // x = [0, −0.75, 0.75]; discounted = [·, −0.75 + 0.5·0.75, 0.75]; observation stays 0.
        Assert.Equal([0f, 0.625f, 1.75f], data[0].Advantages);
    }

    [Fact]
    public async Task KlPenalty_ReferenceLogprobs_ScoreFullSequenceAndDropFirst()
    {
        var datum = TrajectoryToDatum.FromPromptAndCompletion(ModelInput.FromInts([10, 11, 12]), new TokensWithLogprobs([20, 21], [-0.5, -0.25]), 1);
        var scored = new List<int[]>();
        var reference = new FakeSamplingClient
        {
            Score = input =>
            {
                scored.Add(input.ToInts());
                return [null, -0.1, -0.2, -0.3, -0.4];
            },
        };

        var logprobs_D = await KlPenalty.ComputeReferenceLogprobsAsync(reference, [datum]);

        Assert.Equal([10, 11, 12, 20, 21], Assert.Single(scored));
        Assert.Equal([-0.1f, -0.2f, -0.3f, -0.4f], Assert.Single(logprobs_D));
    }
}
