using TinkerFlow.Cookbook.Hyperparameters;

namespace TinkerFlow.Cookbook.Tests.Hyperparameters;

public class LrHeuristicTests
{
    [Theory]
    [InlineData("Qwen/Qwen3-8B", 4.73e-4)]
    [InlineData("Qwen/Qwen3.5-4B", 4.91e-4)]
    [InlineData("meta-llama/Llama-3.2-1B", 4.91e-4)]
    [InlineData("meta-llama/Llama-3.1-8B", 2.86e-4)]
    [InlineData("meta-llama/Llama-3.1-70B", 1.66e-4)]
    public void LrHeuristic_KnownModels_MatchCookbookValues(string model, double expected)
    {
        var lr = LrHeuristic.GetLr(model);

        Assert.InRange(lr, expected * 0.99, expected * 1.01);
    }

    [Fact]
    public void LrHeuristic_ExplicitHiddenSize_MatchesTable()
    {
        Assert.Equal(LrHeuristic.GetLr("Qwen/Qwen3-8B"), LrHeuristic.GetLr("Qwen/Qwen3-8B", hiddenSize: 4096), 15);
        Assert.InRange(LrHeuristic.GetLr("Llama-3.1-8B", 4096), 2.86e-4 * 0.99, 2.86e-4 * 1.01);
        Assert.Equal(5e-4 * Math.Pow(2000.0 / 128, 0.0775), LrHeuristic.GetLr("tinkerflow/tiny-qwen3", 128), 15);
    }

    [Fact]
    public void LrHeuristic_FullFineTune_IsTenTimesSmaller()
    {
        Assert.Equal(LrHeuristic.GetLr("Qwen/Qwen3-8B") / 10, LrHeuristic.GetLr("Qwen/Qwen3-8B", isLora: false), 15);
    }

    [Fact]
    public void LrHeuristic_UnknownFamily_ThrowsClearError()
    {
        var ex = Assert.Throws<ArgumentException>(() => LrHeuristic.GetLr("deepseek-ai/DeepSeek-V3", 7168));

        Assert.Contains("not calibrated", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Qwen, Llama", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LrHeuristic_UnknownQwenSize_PointsToHiddenSizeOverload()
    {
        var ex = Assert.Throws<ArgumentException>(() => LrHeuristic.GetLr("Qwen/Qwen9-Unknown"));

        Assert.Contains("hiddenSize", ex.Message, StringComparison.Ordinal);
    }
}
