using Microsoft.Extensions.Time.Testing;
using System.Text.Json;
using TinkerFlow.Server.Dashboard;

namespace TinkerFlow.Dashboard.Tests;

/// <summary>The pieces without a host: stream tokens and the per-model step tally.</summary>
public sealed class DashboardUnitTests
{
    [Fact]
    public void StreamToken_NamesItsUserUntilItExpires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2025-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var signer = new StreamTokenSigner(new byte[32], time);
        var other = new StreamTokenSigner(Enumerable.Repeat((byte)1, 32).ToArray(), time);
        var token = signer.Sign("user-alice", time.GetUtcNow().AddMinutes(2));

        var valid = signer.Verify(token, out _);
        var foreign = other.Verify(token, out var foreignProblem);
        time.Advance(TimeSpan.FromMinutes(3));
        var expired = signer.Verify(token, out var expiredProblem);

        Assert.Equal("user-alice", valid);
        Assert.Null(foreign);
        Assert.Contains("signature", foreignProblem);
        Assert.Null(expired);
        Assert.Contains("expired", expiredProblem);
    }

    [Fact]
    public void ModelStepTracker_SumsMinibatchesIntoOneStepLine()
    {
        var tracker = new ModelStepTracker(firstStep: 7);
        tracker.Submitted(0);
        tracker.Submitted(0);
        tracker.Submitted(0);
        tracker.ForwardBackwardDone(new BatchTally(2, 10, 8, CrossEntropy: true), new Dictionary<string, double> { ["loss:sum"] = 4 });
        tracker.ForwardBackwardDone(new BatchTally(1, 6, 4, CrossEntropy: true), new Dictionary<string, double> { ["loss:sum"] = 2 });

        var line = tracker.OptimStepDone(
            0.001,
            new Dictionary<string, double> { ["grad_norm:mean"] = 1.5 },
            _ => TimeSpan.FromSeconds(2),
            100);
        tracker.Submitted(100);
        var failed = tracker.OptimStepDone(0.001, null, _ => TimeSpan.Zero, 200);

        var json = JsonDocument.Parse(line!).RootElement;
        Assert.Equal(7, json.GetProperty("step").GetInt32());
        Assert.Equal(0.5, json.GetProperty("train_mean_nll").GetDouble(), 12);
        Assert.Equal(6, json.GetProperty("train/loss_sum").GetDouble());
        Assert.Equal(16, json.GetProperty("num_tokens").GetInt32());
        Assert.Equal(3, json.GetProperty("num_sequences").GetInt32());
        Assert.Equal(2, json.GetProperty("train/num_minibatches").GetInt32());
        Assert.Equal(1.5, json.GetProperty("optim/grad_norm").GetDouble());
        Assert.Equal(2, json.GetProperty("time/step").GetDouble());
        Assert.Equal(8, json.GetProperty("throughput/tokens_per_s").GetDouble());
        Assert.Equal(0, json.GetProperty("progress/requests_in_flight").GetInt32());
        Assert.Null(failed);
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public void ModelStepTracker_RlLossHasNoNllButALossPerToken()
    {
        var tracker = new ModelStepTracker(firstStep: 0);
        tracker.Submitted(0);
        tracker.ForwardBackwardDone(new BatchTally(1, 10, 0, CrossEntropy: false), new Dictionary<string, double> { ["loss:sum"] = -5 });
        tracker.Submitted(0);

        var json = JsonDocument.Parse(tracker.OptimStepDone(0.01, new Dictionary<string, double>(), _ => TimeSpan.FromSeconds(1), 1)!).RootElement;

        Assert.False(json.TryGetProperty("train_mean_nll", out _));
        Assert.Equal(-0.5, json.GetProperty("train/loss_per_token").GetDouble());
    }
}
