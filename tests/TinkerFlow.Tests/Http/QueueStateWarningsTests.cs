using Microsoft.Extensions.Time.Testing;
using TinkerFlow.Http;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Http;

public class QueueStateWarningsTests
{
    [Fact]
    public void QueueState_WarnsAtMostOncePerMinutePerSubject()
    {
        var time = new FakeTimeProvider();
        var logs = new ListLoggerFactory();
        var warnings = new QueueStateWarnings(logs.CreateLogger("test"), time);
        var model = new QueueSubject(QueueSubjectKind.Training, "s:train:0");
        var sampler = new QueueSubject(QueueSubjectKind.Sampling, "s:sample:0");

        Assert.NotNull(warnings.Report(model, QueueState.PausedCapacity, null));
        Assert.Null(warnings.Report(model, QueueState.PausedCapacity, null));
        Assert.Null(warnings.Report(model, QueueState.PausedRateLimit, "other"));
        Assert.NotNull(warnings.Report(sampler, QueueState.PausedRateLimit, null));
        Assert.Null(warnings.Report(new QueueSubject(QueueSubjectKind.Training, "s:train:1"), QueueState.Active, null));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Null(warnings.Report(model, QueueState.PausedCapacity, null));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(warnings.Report(model, QueueState.PausedRateLimit, "quota"));

        Assert.Equal(
            [
                "Training for s:train:0 is paused. Reason: Tinker backend is running short on capacity, please wait",
                "Sampling for s:sample:0 is paused. Reason: concurrent sampler weights limit hit",
                "Training for s:train:0 is paused. Reason: quota",
            ],
            logs.Warnings);
    }

    [Theory]
    [InlineData("Training", QueueState.PausedRateLimit, "concurrent training clients rate limit hit")]
    [InlineData("ModelCreation", QueueState.PausedRateLimit, "concurrent training clients rate limit hit")]
    [InlineData("Sampling", QueueState.PausedRateLimit, "concurrent sampler weights limit hit")]
    [InlineData("Sampling", QueueState.PausedCapacity, "Tinker backend is running short on capacity, please wait")]
    public void QueueState_DefaultReasonsFollowTheSdk(string kind, QueueState state, string expected) =>
        Assert.Equal(expected, QueueStateWarnings.DefaultReason(Enum.Parse<QueueSubjectKind>(kind), state));
}
