using System.Text.Json;

namespace TinkerFlow.Dashboard.Tests;

/// <summary>The dashboard inside the TinkerFlow server over plain HTTP: page, API keys, stream tokens, engine metrics.</summary>
[Collection("Torch")]
public sealed class DashboardServerHttpTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task DashboardPage_IsServedWithoutKeyFromEmbeddedAssets()
    {
        await using var server = await DashboardServer.StartAsync();

        var page = await server.SendAsync(HttpMethod.Get, "/", key: null);
        var script = await server.SendAsync(HttpMethod.Get, "dashboard/assets/dashboard.js", key: null);
        var chart = await server.SendAsync(HttpMethod.Get, "dashboard/assets/chart.js", key: null);
        var css = await server.SendAsync(HttpMethod.Get, "dashboard/assets/dashboard.css", key: null);
        var missing = await server.SendAsync(HttpMethod.Get, "dashboard/assets/nope.js", key: null);
        var info = await server.SendAsync(HttpMethod.Get, "dashboard/api/info", key: null);

        Assert.Equal((200, "text/html"), (page.Status, page.MediaType));
        Assert.Contains("/dashboard/assets/dashboard.js", page.Text);
        Assert.DoesNotContain("https://", page.Text);
        Assert.Equal((200, "text/javascript"), (script.Status, script.MediaType));
        Assert.Contains("EventSource", script.Text);
        Assert.Equal((200, "text/javascript"), (chart.Status, chart.MediaType));
        Assert.Contains("class LineChart", chart.Text);
        Assert.Equal((200, "text/css"), (css.Status, css.MediaType));
        Assert.Equal((404, "application/json"), (missing.Status, missing.MediaType));
        Assert.Contains("dashboard.js", JsonDocument.Parse(missing.Text).RootElement.GetProperty("error").GetString());
        var infoJson = JsonDocument.Parse(info.Text).RootElement;
        Assert.Equal(200, info.Status);
        Assert.Equal("server", infoJson.GetProperty("mode").GetString());
        Assert.Equal("api_key", infoJson.GetProperty("auth").GetString());
        Assert.True(infoJson.GetProperty("manage_checkpoints").GetBoolean());
    }

    [Fact]
    public async Task DashboardApi_WithoutKeyIs401Json()
    {
        await using var server = await DashboardServer.StartAsync();

        var runs = await server.SendAsync(HttpMethod.Get, "dashboard/api/runs", key: null);
        var metrics = await server.SendAsync(HttpMethod.Get, "dashboard/api/metrics?run=x", key: null);
        var token = await server.SendAsync(HttpMethod.Post, "dashboard/api/stream-token", key: null);
        var wrong = await server.SendAsync(HttpMethod.Get, "dashboard/api/runs", key: "tml-not-a-known-key-123");
        var withKey = await server.SendAsync(HttpMethod.Get, "dashboard/api/runs");

        foreach (var (status, mediaType, text) in new[] { runs, metrics, token, wrong })
        {
            Assert.Equal((401, "application/json"), (status, mediaType));
            var json = JsonDocument.Parse(text).RootElement;
            Assert.Equal("user", json.GetProperty("category").GetString());
            Assert.Contains("API key", json.GetProperty("error").GetString());
        }

        Assert.Contains("X-API-Key", JsonDocument.Parse(runs.Text).RootElement.GetProperty("error").GetString());
        Assert.Equal(200, withKey.Status);
        Assert.Equal(0, JsonDocument.Parse(withKey.Text).RootElement.GetProperty("runs").GetArrayLength());
    }

    [Fact]
    public async Task Events_RejectMissingForgedAndWrongCredentials()
    {
        await using var server = await DashboardServer.StartAsync();
        var token = await server.StreamTokenAsync();
        var forged = token[..^4] + (token.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");

        var none = await server.SendAsync(HttpMethod.Get, "dashboard/api/events", key: null);
        var bad = await server.SendAsync(HttpMethod.Get, $"dashboard/api/events?token={Uri.EscapeDataString(forged)}", key: null);
        var garbage = await server.SendAsync(HttpMethod.Get, "dashboard/api/events?token=not-a-token", key: null);
        var wrongKey = await server.SendAsync(HttpMethod.Get, "dashboard/api/events", key: "tml-not-a-known-key-123");

        Assert.Equal((401, "application/json"), (none.Status, none.MediaType));
        Assert.Contains("stream-token", JsonDocument.Parse(none.Text).RootElement.GetProperty("error").GetString());
        Assert.Equal(401, bad.Status);
        Assert.Contains("signature", JsonDocument.Parse(bad.Text).RootElement.GetProperty("error").GetString());
        Assert.Equal(401, garbage.Status);
        Assert.Contains("malformed", JsonDocument.Parse(garbage.Text).RootElement.GetProperty("error").GetString());
        Assert.Equal(401, wrongKey.Status);
    }

    [Fact]
    public async Task RunMetrics_OneLinePerOptimStepInTheRunFolder()
    {
        await using var server = await DashboardServer.StartAsync();
        var client = await server.CreateTrainingClientAsync();
        var first = await DashboardServer.TrainStepAsync(client);
        await DashboardServer.TrainStepAsync(client);

        var file = Path.Combine(server.Home, "runs", client.ModelId, "metrics.jsonl");
        var lines = await WaitForLinesAsync(file, 2);

        var step0 = JsonDocument.Parse(lines[0]).RootElement;
        var step1 = JsonDocument.Parse(lines[1]).RootElement;
        Assert.Equal(0, step0.GetProperty("step").GetInt32());
        Assert.Equal(1, step1.GetProperty("step").GetInt32());
        Assert.Equal(first.Metrics["loss:sum"] / 4.0, step0.GetProperty("train_mean_nll").GetDouble(), 6);
        Assert.Equal(first.Metrics["loss:sum"], step0.GetProperty("train/loss_sum").GetDouble(), 6);
        Assert.Equal(5, step0.GetProperty("num_tokens").GetInt32());
        Assert.Equal(1, step0.GetProperty("num_sequences").GetInt32());
        Assert.Equal(1, step0.GetProperty("train/num_minibatches").GetInt32());
        Assert.Equal(0.01, step0.GetProperty("optim/lr").GetDouble(), 9);
        Assert.True(step0.GetProperty("optim/grad_norm").GetDouble() > 0);
        Assert.True(step0.GetProperty("time/step").GetDouble() > 0);
        Assert.True(step0.GetProperty("throughput/tokens_per_s").GetDouble() > 0);
        Assert.True(step1.TryGetProperty("progress/requests_in_flight", out _));
        Assert.True(step1.GetProperty("train_mean_nll").GetDouble() < step0.GetProperty("train_mean_nll").GetDouble() + 1.0);
    }

    [Fact]
    public async Task DashboardRuns_ShowOnlyTheCallersRuns()
    {
        await using var server = await DashboardServer.StartAsync();
        var alice = await server.CreateTrainingClientAsync(DashboardServer.Alice);
        var bob = await server.CreateTrainingClientAsync(DashboardServer.Bob);
        await DashboardServer.TrainStepAsync(alice);
        await DashboardServer.TrainStepAsync(bob);
        await WaitForLinesAsync(Path.Combine(server.Home, "runs", alice.ModelId, "metrics.jsonl"), 1);
        await WaitForLinesAsync(Path.Combine(server.Home, "runs", bob.ModelId, "metrics.jsonl"), 1);

        var aliceRuns = await server.GetJsonAsync("dashboard/api/runs", DashboardServer.Alice);
        var bobRuns = await server.GetJsonAsync("dashboard/api/runs", DashboardServer.Bob);
        var aliceMetrics = await server.GetJsonAsync($"dashboard/api/metrics?run={Uri.EscapeDataString(alice.ModelId)}", DashboardServer.Alice);
        var stolen = await server.SendAsync(HttpMethod.Get, $"dashboard/api/metrics?run={Uri.EscapeDataString(alice.ModelId)}", DashboardServer.Bob);

        Assert.Equal([alice.ModelId], aliceRuns.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("run_id").GetString()));
        Assert.Equal([bob.ModelId], bobRuns.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("run_id").GetString()));
        Assert.Equal(1, aliceMetrics.GetProperty("records").GetArrayLength());
        Assert.Equal(404, stolen.Status);
    }

    [Fact]
    public async Task Events_StreamTheCallersEngineMetricsLive()
    {
        await using var server = await DashboardServer.StartAsync();
        var client = await server.CreateTrainingClientAsync();
        var other = await server.CreateTrainingClientAsync(DashboardServer.Bob);
        await DashboardServer.TrainStepAsync(other);
        await DashboardServer.TrainStepAsync(client);
        await WaitForLinesAsync(Path.Combine(server.Home, "runs", client.ModelId, "metrics.jsonl"), 1);
        await WaitForLinesAsync(Path.Combine(server.Home, "runs", other.ModelId, "metrics.jsonl"), 1);
        var token = await server.StreamTokenAsync();

        using var timeout = new CancellationTokenSource(s_wait);
        using var response = await server.Http.GetAsync($"dashboard/api/events?token={Uri.EscapeDataString(token)}", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var events = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var (firstName, hello) = await events.NextAsync(timeout.Token);
        var seen = new List<(string Name, JsonElement Data)>();
        async Task<JsonElement> NextMetricsAsync()
        {
            while (true)
            {
                var next = await events.NextAsync(timeout.Token);
                seen.Add(next);
                if (next.Name == "metrics")
                {
                    return next.Data;
                }
            }
        }

        var backlog = await NextMetricsAsync();
        await DashboardServer.TrainStepAsync(client);
        var live = await NextMetricsAsync();

        Assert.Equal("hello", firstName);
        Assert.Equal("server", hello.GetProperty("mode").GetString());
        Assert.Equal(["run", "metrics", "metrics"], seen.Select(e => e.Name));
        // Bob's run never reaches Alice's stream.
        Assert.All(seen, e => Assert.Equal(client.ModelId, e.Data.GetProperty("run_id").GetString()));
        Assert.Equal(0, backlog.GetProperty("from").GetInt32());
        Assert.Equal(0, backlog.GetProperty("records")[0].GetProperty("step").GetInt32());
        Assert.True(backlog.GetProperty("records")[0].GetProperty("train_mean_nll").GetDouble() > 0);
        Assert.Equal(1, live.GetProperty("from").GetInt32());
        Assert.Equal(1, live.GetProperty("records")[0].GetProperty("step").GetInt32());
    }

    /// <summary>The recorder writes after the optim_step result is delivered, so wait for the file to catch up.</summary>
    private static async Task<string[]> WaitForLinesAsync(string file, int count)
    {
        using var timeout = new CancellationTokenSource(s_wait);
        while (true)
        {
            if (File.Exists(file))
            {
                var lines = File.ReadAllLines(file).Where(l => l.Length > 0).ToArray();
                if (lines.Length >= count)
                {
                    return lines;
                }
            }

            await Task.Delay(50, timeout.Token);
        }
    }
}
