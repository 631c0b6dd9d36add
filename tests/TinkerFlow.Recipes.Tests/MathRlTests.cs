namespace TinkerFlow.Recipes.Tests;

[Collection("Recipes")]
public sealed class MathRlTests
{
    [Fact]
    [Trait("Category", "Learning")]
    public async Task MathRl_SyncRlRaisesHeldOutAccuracy()
    {
        var log = RecipeRunner.NewLogPath("mathrl");

        await RecipeRunner.RunAsync("MathRl", "--log-path", log, "--max-steps", "10", "--eval-every", "10", "--learning-rate", "2e-4");

        var rows = RecipeRunner.ReadMetrics(log);
        var correct = RecipeRunner.Series(rows, "test/env/all/correct");
        Assert.True(correct[^1] >= correct[0] + 0.3 || correct[^1] >= 0.9, $"test/env/all/correct {string.Join(" → ", correct.Select(v => v.ToString("F2")))}");
        Assert.All(rows.Take(10), r => Assert.True(r.ContainsKey("env/all/reward/total") && r.ContainsKey("optim/kl_sample_train_v1")));
        Assert.True(File.Exists(Path.Combine(log, "warmstart", "metrics.jsonl")));
    }

    [Theory]
    [InlineData("ppo")]
    [InlineData("cispo")]
    public async Task MathRl_AsyncStalenessStaysWithinBound(string lossFn)
    {
        var log = RecipeRunner.NewLogPath("mathrl-async");

        await RecipeRunner.RunAsync(
            "MathRl", "--log-path", log, "--mode", "async", "--max-staleness", "1", "--loss-fn", lossFn, "--max-steps", "4", "--save-every", "2",
            "--warm-start-steps", "2", "--groups-per-batch", "4", "--group-size", "4", "--test-size", "8", "--eval-every", "2");

        var rows = RecipeRunner.ReadMetrics(log);
        Assert.Equal([0.0, 1.0, 2.0, 3.0, 4.0], rows.Select(r => r["step"]));
        Assert.All(rows.Take(4), r => Assert.InRange(r["sampling_client/step_max"], 0, 1));
        Assert.Equal(3, RecipeRunner.Series(rows, "test/env/all/correct").Count); // steps 0 and 2, and the final row
        Assert.Contains(File.ReadLines(Path.Combine(log, "checkpoints.jsonl")), l => l.Contains("\"final\":true", StringComparison.Ordinal));
    }
}
