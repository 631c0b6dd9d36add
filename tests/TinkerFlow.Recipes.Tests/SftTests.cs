namespace TinkerFlow.Recipes.Tests;

[Collection("Recipes")]
public sealed class SftTests
{
    [Fact]
    [Trait("Category", "Learning")]
    public async Task Sft_TestNllFallsAndPlotsAreWritten()
    {
        var log = RecipeRunner.NewLogPath("sft");

        await RecipeRunner.RunAsync("Sft", "--log-path", log, "--max-steps", "20", "--eval-every", "10", "--batch-size", "16", "--test-size", "32", "--num-samples", "1");

        var rows = RecipeRunner.ReadMetrics(log);
        var nll = RecipeRunner.Series(rows, "test/nll");
        Assert.True(nll[^1] <= 0.7 * nll[0], $"test/nll {string.Join(" → ", nll.Select(v => v.ToString("F3")))}");
        Assert.Equal(Enumerable.Range(0, 21).Select(i => (double)i), rows.Select(r => r["step"])); // 20 steps + the final eval row
        Assert.All(rows.Take(20), r => Assert.True(r.ContainsKey("train_mean_nll") && r.ContainsKey("optim/lr") && r.ContainsKey("time/step")));
        Assert.True(File.Exists(Path.Combine(log, "test_nll.png")));
        Assert.True(File.Exists(Path.Combine(log, "train_mean_nll.png")));
        Assert.Contains(File.ReadLines(Path.Combine(log, "checkpoints.jsonl")), l => l.Contains("\"final\":true", StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Category", "Learning")]
    public async Task Sft_ResumeMatchesUninterruptedRun()
    {
        string[] common = ["--eval-every", "3", "--save-every", "4", "--batch-size", "8", "--test-size", "16", "--lr-schedule", "constant", "--num-samples", "0"];
        var interrupted = RecipeRunner.NewLogPath("sft-resume");
        var straight = RecipeRunner.NewLogPath("sft-straight");

        await RecipeRunner.RunAsync("Sft", ["--log-path", interrupted, "--max-steps", "6", .. common]);
        await RecipeRunner.RunAsync("Sft", ["--log-path", interrupted, "--max-steps", "10", .. common]);
        await RecipeRunner.RunAsync("Sft", ["--log-path", straight, "--max-steps", "10", .. common]);

        var resumed = RecipeRunner.ReadMetrics(interrupted);
        var expected = RecipeRunner.ReadMetrics(straight);
        Assert.Equal(expected.Select(r => r["step"]), resumed.Select(r => r["step"]));
        for (var i = 0; i < expected.Count; i++)
        {
            // Same data order: the same batch cursor and token counts at every step.
            foreach (var key in new[] { "epoch", "progress/batch", "num_tokens", "optim/lr" })
            {
                Assert.Equal(expected[i].GetValueOrDefault(key, double.NaN), resumed[i].GetValueOrDefault(key, double.NaN));
            }

            // Same weights: near-identical losses before and after the resume point.
            foreach (var key in new[] { "train_mean_nll", "test/nll", "test/bpb" })
            {
                Assert.Equal(expected[i].ContainsKey(key), resumed[i].ContainsKey(key));
                if (expected[i].TryGetValue(key, out var value))
                {
                    Assert.True(Math.Abs(value - resumed[i][key]) < 1e-6, $"step {i} {key}: {value} vs {resumed[i][key]}");
                }
            }
        }
    }
}
