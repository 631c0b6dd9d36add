namespace TinkerFlow.Recipes.Tests;

[Collection("Recipes")]
public sealed class SlLoopTests
{
    [Fact]
    [Trait("Category", "Learning")]
    public async Task SlLoop_TestNllFallsAndResumeContinues()
    {
        var log = RecipeRunner.NewLogPath("slloop");

        await RecipeRunner.RunAsync("SlLoop", "--log-path", log, "--max-steps", "12", "--eval-every", "6", "--save-every", "6", "--batch-size", "16");
        var first = RecipeRunner.ReadMetrics(log);
        await RecipeRunner.RunAsync("SlLoop", "--log-path", log, "--max-steps", "18", "--eval-every", "6", "--save-every", "6", "--batch-size", "16");
        var all = RecipeRunner.ReadMetrics(log);

        var nll = RecipeRunner.Series(all, "test/nll");
        Assert.True(nll[^1] < 0.7 * nll[0], $"test/nll {string.Join(" → ", nll.Select(v => v.ToString("F3")))}");
        Assert.Equal(Enumerable.Range(0, 18).Select(i => (double)i), all.Select(r => r["step"]));
        Assert.Equal(12, first.Count);
    }
}
