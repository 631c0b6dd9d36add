using TinkerFlow.Cookbook.Recipes;

namespace TinkerFlow.Cookbook.Tests.Recipes;

public sealed class RecipeArgsTests
{
    private enum Mode
    {
        Sync,
        BoundedAsync,
    }

    private sealed record Config
    {
        public string LogPath { get; init; } = "runs/x";

        public int MaxSteps { get; init; } = 10;

        public double LearningRate { get; init; } = 1e-3;

        public string? BaseUrl { get; init; }

        public bool Verbose { get; init; }

        public Mode Mode { get; init; } = Mode.Sync;
    }

    [Fact]
    public void Parse_AppliesKebabAndSnakeCaseOverrides()
    {
        var c = RecipeArgs.Parse(new Config(), ["--log-path", "runs/y", "--max_steps=5", "--learning-rate", "3e-4", "--verbose", "--mode", "bounded-async"]);

        Assert.Equal(new Config { LogPath = "runs/y", MaxSteps = 5, LearningRate = 3e-4, Verbose = true, Mode = Mode.BoundedAsync }, c);
    }

    [Fact]
    public void Parse_LeavesDefaultsUntouched() =>
        Assert.Equal(new Config(), RecipeArgs.Parse(new Config(), []));

    [Fact]
    public void Parse_RejectsUnknownKeysListingKnownOnes()
    {
        var ex = Assert.Throws<ArgumentException>(() => RecipeArgs.Parse(new Config(), ["--max-stepz", "3"]));
        Assert.Contains("Unknown option --max-stepz", ex.Message);
        Assert.Contains("--max-steps", ex.Message);
    }

    [Fact]
    public void Parse_RejectsBadValues()
    {
        Assert.Contains("not a valid Int32", Assert.Throws<ArgumentException>(() => RecipeArgs.Parse(new Config(), ["--max-steps", "many"])).Message);
        Assert.Contains("needs a value", Assert.Throws<ArgumentException>(() => RecipeArgs.Parse(new Config(), ["--log-path"])).Message);
        Assert.Contains("not one of", Assert.Throws<ArgumentException>(() => RecipeArgs.Parse(new Config(), ["--mode", "turbo"])).Message);
    }
}
