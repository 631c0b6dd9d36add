using TinkerFlow.Dataflow;

namespace TinkerFlow.Cookbook.Tests.Hyperparameters;

public class LrScheduleTests
{
    [Theory]
    [InlineData(LrScheduleKind.Constant, 0, 1.0)]
    [InlineData(LrScheduleKind.Constant, 50, 1.0)]
    [InlineData(LrScheduleKind.Linear, 0, 1.0)]
    [InlineData(LrScheduleKind.Linear, 50, 0.5)]
    [InlineData(LrScheduleKind.Linear, 100, 0.0)]
    [InlineData(LrScheduleKind.Cosine, 0, 1.0)]
    [InlineData(LrScheduleKind.Cosine, 25, 0.85355339)]
    [InlineData(LrScheduleKind.Cosine, 50, 0.5)]
    [InlineData(LrScheduleKind.Cosine, 100, 0.0)]
    public void LrSchedule_NoWarmup_MatchesCookbookMultiplier(LrScheduleKind kind, int step, double multiplier)
    {
        var schedule = new LrSchedule(kind, learningRate: 2e-4, totalSteps: 100);

        Assert.Equal(multiplier, schedule.Multiplier(step), 6);
        Assert.Equal(2e-4 * multiplier, schedule.GetLr(step), 12);
    }

    [Theory]
    [InlineData(LrScheduleKind.Linear, 0, 0.1)]
    [InlineData(LrScheduleKind.Linear, 9, 1.0)]
    [InlineData(LrScheduleKind.Linear, 10, 1.0)]
    [InlineData(LrScheduleKind.Linear, 60, 0.5)]
    [InlineData(LrScheduleKind.Linear, 110, 0.0)]
    [InlineData(LrScheduleKind.Cosine, 0, 0.1)]
    [InlineData(LrScheduleKind.Cosine, 10, 1.0)]
    [InlineData(LrScheduleKind.Cosine, 60, 0.5)]
    [InlineData(LrScheduleKind.Cosine, 110, 0.0)]
    [InlineData(LrScheduleKind.Constant, 4, 0.5)]
    [InlineData(LrScheduleKind.Constant, 110, 1.0)]
    public void LrSchedule_Warmup_RisesLinearlyThenDecays(LrScheduleKind kind, int step, double multiplier)
    {
        var schedule = new LrSchedule(kind, learningRate: 1e-3, totalSteps: 110, warmupSteps: 10);

        Assert.Equal(multiplier, schedule.Multiplier(step), 9);
    }

    [Fact]
    public void LrSchedule_WarmupNotShorterThanRun_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LrSchedule(LrScheduleKind.Linear, 1e-4, totalSteps: 10, warmupSteps: 10));
    }
}
