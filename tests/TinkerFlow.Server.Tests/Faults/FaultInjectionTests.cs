using TinkerFlow.Local.Tests.Backend;

namespace TinkerFlow.Server.Tests.Faults;

/// <summary>
/// Issue 4: a 20-step training run through the HTTP client survives injected 5xx, 429, dropped connections and
/// timeouts, and every forward_backward and optim_step is applied exactly once (the client retries with the same
/// seq_id; the server answers a replay with the first request id instead of running it again).
/// </summary>
[Collection("Torch")]
public sealed class FaultInjectionTests : IAsyncLifetime
{
    private static readonly FaultKind[] SubmissionFaults =
    [
        FaultKind.FailBeforeSend,
        FaultKind.DropAfterProcessing,
        FaultKind.ServerAbort,
        FaultKind.DelayPastTimeout,
        FaultKind.TooManyRequests,
        FaultKind.ServiceUnavailable,
        FaultKind.None,
    ];

    private readonly TempHome _home = new();
    private FaultHost? _host;

    private FaultHost Host => _host!;

    public async Task InitializeAsync() => _host = await FaultHost.StartAsync(_home.Path);

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _home.Dispose();
    }

    [Fact]
    public async Task TrainingRun_WithInjectedFaultsEndsWithTheUndisturbedWeights()
    {
        var (expectedLosses, expectedProbe, _) = await RunAsync(_ => FaultKind.None);

        var (losses, probe, faults) = await RunAsync(Plan);

        FaultTraining.AssertSameWeights(expectedProbe, probe);
        Assert.Equal(expectedLosses, losses);

        // The run really was disturbed, in every way, and the server really did see replays.
        foreach (var kind in SubmissionFaults.Where(k => k != FaultKind.None))
        {
            Assert.True(faults.Injected.GetValueOrDefault(kind) > 0, $"no {kind} fault was injected");
        }

        Assert.True(Host.Aborted > 0, "the server aborted no connection");
        Assert.Contains(faults.Delivered, kv => kv.Key.Endpoint == "forward_backward" && kv.Value > 1);
        Assert.Contains(faults.Delivered, kv => kv.Key.Endpoint == "optim_step" && kv.Value > 1);

        // Exactly once on the server: every (endpoint, seq_id) got one request id, however often it arrived.
        var submissions = faults.RequestIds.Where(kv => kv.Key.Endpoint is "forward_backward" or "optim_step").ToList();
        Assert.Equal(2 * FaultTraining.Steps, submissions.Count);
        Assert.All(submissions, kv => Assert.True(kv.Value.Count == 1, $"{kv.Key.Endpoint} seq_id {kv.Key.Seq} got request ids {string.Join(", ", kv.Value)}"));
    }

    [Fact]
    public async Task TrainingRun_WhenEverySubmissionIsAnsweredLateEndsWithTheUndisturbedWeights()
    {
        // Every training submission is processed, then its answer is held past the client's timeout once: every step
        // reaches the server twice.
        var (expectedLosses, expectedProbe, _) = await RunAsync(_ => FaultKind.None, steps: 5);

        var (losses, probe, faults) = await RunAsync(
            r => r is { Endpoint: "forward_backward" or "optim_step", Attempt: 0 } ? FaultKind.DelayPastTimeout : FaultKind.None,
            steps: 5,
            networkTimeout: TimeSpan.FromMilliseconds(500));

        FaultTraining.AssertSameWeights(expectedProbe, probe);
        Assert.Equal(expectedLosses, losses);
        Assert.All(
            faults.Delivered.Where(kv => kv.Key.Endpoint is "forward_backward" or "optim_step"),
            kv => Assert.True(kv.Value >= 2, $"{kv.Key.Endpoint} seq_id {kv.Key.Seq} reached the server {kv.Value} time(s)"));
        Assert.All(faults.RequestIds.Values, ids => Assert.Single(ids));
    }

    /// <summary>
    /// Submissions (forward_backward, optim_step, forward) cycle through every fault on their first attempt, and every
    /// fifth one fails its first retry too; polls get an occasional 503, 429, dropped or aborted answer; the model
    /// creation loses its first answer.
    /// </summary>
    private static FaultKind Plan(FaultRequest request)
    {
        switch (request)
        {
            case { Endpoint: "forward_backward" or "optim_step" or "forward", SeqId: { } seq }:
                return request.Attempt switch
                {
                    0 => SubmissionFaults[seq % SubmissionFaults.Length],
                    1 when seq % 5 == 0 => SubmissionFaults[(seq / 5) % (SubmissionFaults.Length - 1)],
                    _ => FaultKind.None,
                };
            case { Endpoint: "retrieve_future", Poll: var poll }:
                return poll % 5 == 0 ? FaultKind.ServiceUnavailable
                    : poll % 17 == 1 ? FaultKind.DropAfterProcessing
                    : poll % 29 == 3 ? FaultKind.ServerAbort
                    : poll % 41 == 7 ? FaultKind.TooManyRequests
                    : FaultKind.None;
            case { Endpoint: "create_model", Attempt: 0 }:
                return FaultKind.DropAfterProcessing;
            default:
                return FaultKind.None;
        }
    }

    private async Task<(List<double> Losses, float[] Probe, FaultInjectingHandler Faults)> RunAsync(
        Func<FaultRequest, FaultKind> plan,
        int steps = FaultTraining.Steps,
        TimeSpan? networkTimeout = null)
    {
        using var faults = new FaultInjectingHandler(Host.BaseUrl, plan);
        await using var service = new ServiceClient(FaultTraining.Options(Host.BaseUrl, faults, networkTimeout));
        var client = await FaultTraining.CreateAsync(service);
        var losses = await FaultTraining.TrainAsync(client, 0, steps);
        var probe = await FaultTraining.ProbeAsync(client);
        return (losses, probe, faults);
    }
}
