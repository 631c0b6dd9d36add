namespace TinkerFlow.Recipes.Tests;

[Collection("Recipes")]
public sealed class DpoTests
{
    [Fact]
    [Trait("Category", "Learning")]
    public async Task Dpo_HeldOutAccuracyRises()
    {
        var log = RecipeRunner.NewLogPath("dpo");

        await RecipeRunner.RunAsync("Dpo", "--log-path", log, "--max-steps", "20", "--batch-size", "32", "--learning-rate", "2e-3", "--test-size", "64", "--eval-every", "10");
        var rows = RecipeRunner.ReadMetrics(log);

        var accuracy = RecipeRunner.Series(rows, "test/accuracy");
        Assert.True(accuracy[^1] > 0.7, $"test/accuracy {string.Join(" → ", accuracy.Select(v => v.ToString("F3")))}");
        Assert.True(RecipeRunner.Series(rows, "test/margin")[^1] > 0);
        Assert.Equal(Enumerable.Range(0, 21).Select(i => (double)i), rows.Select(r => r["step"])); // 20 steps + the final evaluation's row
    }

    [Fact]
    public async Task Dpo_TwoStepSmokeThenResume()
    {
        var log = RecipeRunner.NewLogPath("dpo-smoke");
        string[] common = ["--log-path", log, "--batch-size", "2", "--test-size", "4", "--eval-every", "1", "--save-every", "1"];

        await RecipeRunner.RunAsync("Dpo", [.. common, "--max-steps", "2"]);
        var cachedPairs = File.ReadAllLines(Path.Combine(log, "reference_logprobs.jsonl")).Length;
        await RecipeRunner.RunAsync("Dpo", [.. common, "--max-steps", "3"]);
        var rows = RecipeRunner.ReadMetrics(log);
        var pairIndices = File.ReadAllLines(Path.Combine(log, "reference_logprobs.jsonl")).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("pair").GetInt32()).ToList();

        Assert.Equal([0.0, 1.0, 2.0, 3.0], rows.Select(r => r["step"])); // steps 0–2, then the final evaluation's row
        Assert.All(rows.Take(3), r => Assert.InRange(r["dpo_loss"], 0, 10));
        Assert.All(rows, r => Assert.True(r.ContainsKey("test/accuracy")));
        Assert.InRange(cachedPairs, 4 + 4, 4 + 8); // 4 held-out + 2 steps × 2 pairs (+ at most one batch read ahead)
        Assert.Equal(pairIndices.Count, pairIndices.Distinct().Count()); // each pair scored once, across the resume
        Assert.Contains(File.ReadLines(Path.Combine(log, "checkpoints.jsonl")), l => l.Contains("\"final\":true", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dpo_UnknownOptionIsAnError()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => RecipeRunner.RunAsync("Dpo", "--log-path", RecipeRunner.NewLogPath("dpo-bad"), "--bta", "0.1"));
        Assert.Contains("--beta", ex.Message, StringComparison.Ordinal);
    }
}
