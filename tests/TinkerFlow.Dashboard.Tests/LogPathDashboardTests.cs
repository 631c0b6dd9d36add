using System.Net;
using System.Text.Json;
using TinkerFlow.Server.Dashboard;

namespace TinkerFlow.Dashboard.Tests;

/// <summary>The stand-alone dashboard over recipe log folders (what <c>tinkerflow dashboard --log-path</c> serves).</summary>
[Collection("Torch")]
public sealed class LogPathDashboardTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task LogPathApi_ListsNestedRunsWithoutKey()
    {
        await using var logs = new LogFolder();
        logs.Append("sft", 0, 3);
        logs.Append("sweep/lr-1e-4", 0, 2);
        logs.AppendRaw("sweep/lr-1e-4", "{\"step\":2,\"train_mean_nll\":NaN,\"test/nll\":-Infinity}\nnot json\n");
        File.WriteAllText(Path.Combine(logs.Root, "sft", "checkpoints.jsonl"), "{\"name\":\"000002\",\"step\":2,\"state_path\":\"tinker://r/weights/000002\"}\n");
        Directory.CreateDirectory(Path.Combine(logs.Root, ".hidden"));
        File.WriteAllText(Path.Combine(logs.Root, ".hidden", "metrics.jsonl"), LogFolder.Line(0) + "\n");
        await logs.StartAsync();

        var info = JsonDocument.Parse(await logs.Http.GetStringAsync("dashboard/api/info")).RootElement;
        var runs = JsonDocument.Parse(await logs.Http.GetStringAsync("dashboard/api/runs")).RootElement.GetProperty("runs");
        var sweep = JsonDocument.Parse(await logs.Http.GetStringAsync("dashboard/api/metrics?run=sweep%2Flr-1e-4")).RootElement;
        var checkpoints = JsonDocument.Parse(await logs.Http.GetStringAsync("dashboard/api/checkpoints?run=sft")).RootElement;
        using var missing = await logs.Http.GetAsync("dashboard/api/metrics?run=nope");
        using var page = await logs.Http.GetAsync("/");

        Assert.Equal("log_path", info.GetProperty("mode").GetString());
        Assert.Equal("none", info.GetProperty("auth").GetString());
        Assert.False(info.GetProperty("manage_checkpoints").GetBoolean());
        Assert.Equal(["sft", "sweep/lr-1e-4"], runs.EnumerateArray().Select(r => r.GetProperty("run_id").GetString()));
        Assert.Equal(3, runs[0].GetProperty("records").GetInt32());
        Assert.Equal(2, runs[0].GetProperty("last_step").GetDouble());
        Assert.Equal(1, runs[1].GetProperty("skipped_lines").GetInt32());
        var records = sweep.GetProperty("records");
        Assert.Equal(3, records.GetArrayLength());
        Assert.Equal(JsonValueKind.Null, records[2].GetProperty("train_mean_nll").ValueKind);
        Assert.Equal(JsonValueKind.Null, records[2].GetProperty("test/nll").ValueKind);
        Assert.Equal("tinker://r/weights/000002", checkpoints.GetProperty("checkpoints")[0].GetProperty("state_path").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task Events_LogPathStreamsBacklogThenAppendedLines()
    {
        await using var logs = new LogFolder();
        logs.Append("run-a", 0, 2);
        await logs.StartAsync();

        using var timeout = new CancellationTokenSource(s_wait);
        using var response = await logs.Http.GetAsync("dashboard/api/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var hello = await events.WaitForAsync("hello", _ => true, timeout.Token);
        var backlog = await events.WaitForAsync("metrics", _ => true, timeout.Token);

        // Half a line is held back until its newline arrives.
        logs.AppendRaw("run-a", LogFolder.Line(2)[..10]);
        logs.AppendRaw("run-a", LogFolder.Line(2)[10..] + "\n");
        var appended = await events.WaitForAsync("metrics", _ => true, timeout.Token);

        // A new run folder is discovered while streaming.
        logs.Append("run-b", 0, 1);
        var newRun = await events.WaitForAsync("run", _ => true, timeout.Token);
        var newRunMetrics = await events.WaitForAsync("metrics", _ => true, timeout.Token);

        // A truncated (rewritten) file starts over.
        File.WriteAllText(logs.MetricsFile("run-a"), LogFolder.Line(0) + "\n");
        var reset = await events.WaitForAsync("reset", _ => true, timeout.Token);
        var restarted = await events.WaitForAsync("metrics", _ => true, timeout.Token);

        Assert.Equal("log_path", hello.GetProperty("mode").GetString());
        Assert.Equal(("run-a", 0, 2), (backlog.GetProperty("run_id").GetString(), backlog.GetProperty("from").GetInt32(), backlog.GetProperty("records").GetArrayLength()));
        Assert.Equal(("run-a", 2, 1), (appended.GetProperty("run_id").GetString(), appended.GetProperty("from").GetInt32(), appended.GetProperty("records").GetArrayLength()));
        Assert.Equal(2, appended.GetProperty("records")[0].GetProperty("step").GetInt32());
        Assert.Equal("run-b", newRun.GetProperty("run_id").GetString());
        Assert.Equal("run-b", newRunMetrics.GetProperty("run_id").GetString());
        Assert.Equal("run-a", reset.GetProperty("run_id").GetString());
        Assert.Equal(("run-a", 0, 1), (restarted.GetProperty("run_id").GetString(), restarted.GetProperty("from").GetInt32(), restarted.GetProperty("records").GetArrayLength()));
    }

    [Fact]
    public void BuildStandalone_MissingLogPathSaysWhatToPass()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"tinkerflow-no-such-{Guid.NewGuid():N}");

        var error = Assert.Throws<ArgumentException>(() => TinkerFlowDashboard.BuildStandalone(missing, []));

        Assert.Contains(missing, error.Message);
        Assert.Contains("metrics.jsonl", error.Message);
    }
}
