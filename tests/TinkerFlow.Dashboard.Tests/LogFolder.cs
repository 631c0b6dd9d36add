using System.Globalization;
using Microsoft.AspNetCore.Builder;
using TinkerFlow.Server.Dashboard;

namespace TinkerFlow.Dashboard.Tests;

/// <summary>A recipe-style log folder (run folders with metrics.jsonl) and the stand-alone dashboard over it.</summary>
internal sealed class LogFolder : IAsyncDisposable
{
    private readonly TempDirectory _root = new("tinkerflow-dashboard-logs-");
    private WebApplication? _app;

    public string Root => _root.Path;

    public Uri BaseUrl { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    /// <summary>A recipe-like metrics line: NLL falling, reward rising, KL and in-flight work.</summary>
    public static string Line(int step) => string.Create(
        CultureInfo.InvariantCulture,
        $$"""{"step":{{step}},"train_mean_nll":{{3.0 / (step + 1)}},"env/all/reward/total":{{0.1 * step}},"optim/kl_sample_train_v1":{{0.01 * step}},"time/step":0.5,"progress/steps_in_flight":{{step % 3}}}""");

    public string MetricsFile(string run) => Path.Combine(Root, run, "metrics.jsonl");

    /// <summary>Appends lines for steps [from, to) to a run's metrics.jsonl (creating the run folder).</summary>
    public void Append(string run, int from, int to)
    {
        Directory.CreateDirectory(Path.Combine(Root, run));
        File.AppendAllLines(MetricsFile(run), Enumerable.Range(from, to - from).Select(Line));
    }

    public void AppendRaw(string run, string text)
    {
        Directory.CreateDirectory(Path.Combine(Root, run));
        File.AppendAllText(MetricsFile(run), text);
    }

    public async Task StartAsync()
    {
        _app = TinkerFlowDashboard.BuildStandalone(
            Root,
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"],
            o => o.PollInterval = TimeSpan.FromMilliseconds(100));
        await _app.StartAsync();
        BaseUrl = new Uri(_app.Urls.First().TrimEnd('/') + "/");
        Http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _root.Dispose();
    }
}
