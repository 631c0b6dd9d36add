namespace TinkerFlow.Recipes.Tests;

[Collection("Recipes")]
public sealed class KlSftTests
{
    [Fact]
    [Trait("Category", "Learning")]
    public async Task KlSft_PenaltyKeepsThePolicyNearTheReferenceWhileHeldOutNllStillFalls()
    {
        string[] common = ["--max-steps", "12", "--batch-size", "8", "--test-size", "16", "--eval-every", "6"];
        var free = RecipeRunner.NewLogPath("kl-sft-free");
        var penalised = RecipeRunner.NewLogPath("kl-sft-penalised");

        await RecipeRunner.RunAsync("KlSft", [.. common, "--log-path", free, "--kl-coef", "0"]);
        await RecipeRunner.RunAsync("KlSft", [.. common, "--log-path", penalised, "--kl-coef", "1"]);
        var (freeLast, penalisedLast) = (RecipeRunner.ReadMetrics(free)[^1], RecipeRunner.ReadMetrics(penalised)[^1]);

        string Show(Dictionary<string, double> row) => $"test/nll {row["test/nll"]:F3} (base {row["test/base_nll"]:F3}), test/kl {row["test/kl"]:F3}";
        var summary = $"kl-coef 0: {Show(freeLast)}; kl-coef 1: {Show(penalisedLast)}";
        Assert.True(penalisedLast["test/kl"] < 0.2 * freeLast["test/kl"], summary);          // the penalty holds the policy near the reference
        Assert.True(penalisedLast["test/nll"] < 0.95 * penalisedLast["test/base_nll"], summary); // and it still learns the task
        Assert.True(freeLast["test/nll"] < penalisedLast["test/nll"], summary);              // at a price in nll
        Assert.Equal(Enumerable.Range(0, 13).Select(i => (double)i), RecipeRunner.ReadMetrics(penalised).Select(r => r["step"])); // 12 steps + the final evaluation's row
    }

    [Fact]
    public async Task KlSft_TwoStepSmokeThenResume()
    {
        var log = RecipeRunner.NewLogPath("kl-sft-smoke");
        string[] common = ["--log-path", log, "--kl-coef", "0.5", "--batch-size", "2", "--test-size", "4", "--eval-every", "1", "--save-every", "1"];

        await RecipeRunner.RunAsync("KlSft", [.. common, "--max-steps", "2"]);
        await RecipeRunner.RunAsync("KlSft", [.. common, "--max-steps", "3"]);
        var rows = RecipeRunner.ReadMetrics(log);

        Assert.Equal([0.0, 1.0, 2.0, 3.0], rows.Select(r => r["step"]));          // steps 0–2, then the final evaluation's row
        Assert.All(rows.Take(3), r => Assert.Equal(r["nll"] + (0.5 * r["kl"]), r["loss"], 3));  // loss = nll + λ·kl
        Assert.All(rows, r => Assert.True(r.ContainsKey("test/kl")));
        Assert.InRange(rows[0]["kl"], 0, 1e-6);                                  // step 0: the policy is the reference
        Assert.Contains(File.ReadLines(Path.Combine(log, "checkpoints.jsonl")), l => l.Contains("\"final\":true", StringComparison.Ordinal));
    }

    [Fact]
    public async Task KlSft_Describe_PrintsTheTrainingGraphWithoutTraining()
    {
        var log = RecipeRunner.NewLogPath("kl-sft-describe");
        var output = new StringWriter();
        var console = Console.Out;
        Console.SetOut(output);
        try
        {
            await RecipeRunner.RunAsync("KlSft", "--log-path", log, "--batch-size", "4", "--test-size", "4", "--describe");
        }
        finally
        {
            Console.SetOut(console);
        }

        Assert.Contains("reference logprobs", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("custom kl-sft", output.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(log, "metrics.jsonl")));
    }

    [Fact]
    public async Task KlSft_UnknownOptionIsAnError()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => RecipeRunner.RunAsync("KlSft", "--log-path", RecipeRunner.NewLogPath("kl-sft-bad"), "--kl-coeff", "1"));
        Assert.Contains("--kl-coef", ex.Message, StringComparison.Ordinal);
    }
}
