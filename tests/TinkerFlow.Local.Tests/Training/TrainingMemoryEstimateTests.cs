using TinkerFlow.Local.Model;
using TinkerFlow.Local.Training;

namespace TinkerFlow.Local.Tests.Training;

/// <summary>The memory estimates behind activation checkpointing and admission control, on Qwen3-0.6B's shapes.</summary>
public sealed class TrainingMemoryEstimateTests
{
    private static readonly TransformerConfig Qwen3Small = new()
    {
        ModelType = "qwen3",
        HiddenSize = 1024,
        IntermediateSize = 3072,
        NumHiddenLayers = 28,
        NumAttentionHeads = 16,
        NumKeyValueHeads = 8,
        HeadDim = 128,
        VocabSize = 151_936,
        MaxPositionEmbeddings = 40_960,
        TieWordEmbeddings = true,
    };

    [Fact]
    public void CheckpointedLayers_FollowsTheMode()
    {
        Assert.Equal(0, TrainingMemoryEstimate.CheckpointedLayers(Qwen3Small, 32, 8, 512, false, ActivationCheckpointing.Never, 1));
        Assert.Equal(28, TrainingMemoryEstimate.CheckpointedLayers(Qwen3Small, 32, 1, 8, false, ActivationCheckpointing.Always, long.MaxValue));
        Assert.Equal(0, TrainingMemoryEstimate.CheckpointedLayers(Qwen3Small, 32, 1, 8, false, ActivationCheckpointing.Auto, 2L << 30));
        Assert.Equal(28, TrainingMemoryEstimate.CheckpointedLayers(Qwen3Small, 32, 8, 512, false, ActivationCheckpointing.Auto, 1));
    }

    [Fact]
    public void CheckpointedLayers_AutoFitsTheBudgetWithTheFewestLayers()
    {
        const long budget = 2L << 30;
        int k = TrainingMemoryEstimate.CheckpointedLayers(Qwen3Small, 32, 8, 512, false, ActivationCheckpointing.Auto, budget);
        Assert.InRange(k, 1, 27);
        Assert.True(TrainingMemoryEstimate.ActivationBytes(Qwen3Small, 32, 8, 512, false, k) <= budget);
        Assert.True(TrainingMemoryEstimate.ActivationBytes(Qwen3Small, 32, 8, 512, false, k - 1) > budget);
        // Longer batches need more layers checkpointed.
        Assert.True(TrainingMemoryEstimate.CheckpointedLayers(Qwen3Small, 32, 16, 512, false, ActivationCheckpointing.Auto, budget) > k);
    }

    [Fact]
    public void ForwardBackwardBytes_ShrinkWithCheckpointingAndWithoutBackward()
    {
        int[] lengths = [.. Enumerable.Repeat(512, 8)];
        long never = TrainingMemoryEstimate.ForwardBackwardBytes(Qwen3Small, 32, lengths, 16_384, true, ActivationCheckpointing.Never, 0);
        long always = TrainingMemoryEstimate.ForwardBackwardBytes(Qwen3Small, 32, lengths, 16_384, true, ActivationCheckpointing.Always, 0);
        long forward = TrainingMemoryEstimate.ForwardBackwardBytes(Qwen3Small, 32, lengths, 16_384, false, ActivationCheckpointing.Never, 0);
        Assert.True(never > 8 * always, $"never {never}, always {always}");
        Assert.True(always > forward, $"always {always}, forward {forward}");
        // Micro-batches run one after another: splitting the request bounds the peak by the largest one.
        long split = TrainingMemoryEstimate.ForwardBackwardBytes(Qwen3Small, 32, lengths, 1024, true, ActivationCheckpointing.Never, 0);
        Assert.True(split < never / 3);
    }

    [Fact]
    public void SampleBytes_GrowWithSamplesAndTokens()
    {
        long one = TrainingMemoryEstimate.SampleBytes(Qwen3Small, 1, 100, 100);
        long eight = TrainingMemoryEstimate.SampleBytes(Qwen3Small, 8, 100, 100);
        long longer = TrainingMemoryEstimate.SampleBytes(Qwen3Small, 1, 100, 4000);
        // One position of K and V over 28 layers × 8 heads × 128 is 229,376 bytes; 8 samples of 256 slots add 7 × 256 of them.
        Assert.True(eight - one >= 7L * 256 * 229_376);
        Assert.True(longer > one);
    }
}
