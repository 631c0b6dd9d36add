namespace TinkerFlow.Recipes.Tests;

[Collection("Recipes")]
public sealed class RlLoopTests
{
    [Fact]
    public async Task RlLoop_SmokeRunWritesMetricsAndCheckpoint()
    {
        var log = RecipeRunner.NewLogPath("rlloop");

        await RecipeRunner.RunAsync("RlLoop", "--log-path", log, "--max-steps", "2", "--warm-start-steps", "2", "--batch-size", "4", "--group-size", "4");

        var rows = RecipeRunner.ReadMetrics(log);
        Assert.Equal([0.0, 1.0], rows.Select(r => r["step"]));
        Assert.All(rows, r => Assert.InRange(r["env/all/reward/total"], 0, 1));
        Assert.Contains(File.ReadLines(Path.Combine(log, "checkpoints.jsonl")), l => l.Contains("\"final\":true", StringComparison.Ordinal));
    }
}
