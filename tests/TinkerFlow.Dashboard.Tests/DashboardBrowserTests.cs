using System.Text.Json;
using Microsoft.Playwright;
using TinkerFlow.Types;
using static Microsoft.Playwright.Assertions;

namespace TinkerFlow.Dashboard.Tests;

/// <summary>The dashboard page in a real browser (headless chromium through Playwright).</summary>
[Collection("Torch")]
public sealed class DashboardBrowserTests(BrowserFixture browser)
{
    static DashboardBrowserTests() => SetDefaultExpectTimeout(30_000);

    [Fact]
    public async Task Dashboard_LogPathCurveGrowsAsLinesAreAppended()
    {
        await using var logs = new LogFolder();
        logs.Append("run-a", 0, 3);
        await logs.StartAsync();
        var (context, page, errors) = await browser.NewPageAsync();
        await using var _ = context;

        await page.GotoAsync(logs.BaseUrl.ToString());
        await Expect(page.Locator("li.run[data-run-id='run-a']")).ToBeVisibleAsync();
        var nll = page.Locator("figure.chart[data-metric='train_mean_nll']");
        await Expect(nll).ToHaveAttributeAsync("data-points", "3");
        await Expect(page.Locator("#status")).ToHaveAttributeAsync("data-state", "live");
        logs.Append("run-a", 3, 5);
        await Expect(nll).ToHaveAttributeAsync("data-points", "5");
        logs.Append("run-b", 0, 2);
        await Expect(page.Locator("li.run[data-run-id='run-b']")).ToBeVisibleAsync();
        await Expect(nll).ToHaveAttributeAsync("data-series", "2");

        Assert.False(await page.Locator("#key-dialog").IsVisibleAsync());
        Assert.Equal(5, await nll.Locator("path.line[data-run='run-a']").GetAttributeAsync("data-count").ContinueWith(t => int.Parse(t.Result!, System.Globalization.CultureInfo.InvariantCulture)));
        foreach (var (metric, section) in new[]
        {
            ("env/all/reward/total", "Reward"),
            ("optim/kl_sample_train_v1", "KL"),
            ("time/step", "Throughput & time"),
            ("progress/steps_in_flight", "In-flight work"),
        })
        {
            await Expect(page.Locator($"figure.chart[data-section='{section}'][data-metric='{metric}']")).ToBeVisibleAsync();
        }

        await page.Locator("figure.chart[data-metric='train_mean_nll'] svg").HoverAsync();
        await BrowserFixture.ScreenshotAsync(page, "log-path");

        Assert.Empty(errors);
    }

    [Fact]
    public async Task Dashboard_ServerRunAppearsAndLossCurveUpdatesLive()
    {
        await using var server = await DashboardServer.StartAsync();
        var client = await server.CreateTrainingClientAsync();
        await DashboardServer.TrainStepAsync(client);
        var (context, page, errors) = await browser.NewPageAsync();
        await using var _ = context;

        await page.GotoAsync(server.BaseUrl.ToString());
        await Expect(page.Locator("#key-dialog")).ToBeVisibleAsync();
        await page.FillAsync("#key-input", DashboardServer.Alice);
        await page.ClickAsync("#key-submit");
        await Expect(page.Locator($"li.run[data-run-id='{client.ModelId}']")).ToBeVisibleAsync();
        var nll = page.Locator("figure.chart[data-metric='train_mean_nll']");
        await Expect(nll).ToHaveAttributeAsync("data-points", "1");
        await DashboardServer.TrainStepAsync(client);
        await Expect(nll).ToHaveAttributeAsync("data-points", "2");
        await DashboardServer.TrainStepAsync(client);
        await Expect(nll).ToHaveAttributeAsync("data-points", "3");

        await Expect(page.Locator("figure.chart[data-metric='throughput/tokens_per_s']")).ToBeVisibleAsync();
        await Expect(page.Locator("figure.chart[data-metric='progress/requests_in_flight']")).ToBeVisibleAsync();
        Assert.Equal(DashboardServer.Alice, await page.EvaluateAsync<string>("sessionStorage.getItem('tinkerflow.apiKey')"));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Dashboard_PublishButtonMakesCheckpointPublic()
    {
        await using var server = await DashboardServer.StartAsync();
        var client = await server.CreateTrainingClientAsync();
        await DashboardServer.TrainStepAsync(client);
        await client.SaveStateAsync(WaitUntil.Completed, "c1");
        var (context, page, errors) = await browser.NewPageAsync();
        await using var _ = context;

        await page.GotoAsync(server.BaseUrl.ToString());
        await page.FillAsync("#key-input", DashboardServer.Alice);
        await page.ClickAsync("#key-submit");
        await page.ClickAsync($"li.run[data-run-id='{client.ModelId}']");
        var row = page.Locator("#checkpoint-table tr[data-checkpoint-id='weights/c1']");
        await Expect(row.Locator("[data-field='public']")).ToHaveTextAsync("private");
        await row.Locator("button[data-action='publish']").ClickAsync();
        await Expect(row.Locator("[data-field='public']")).ToHaveTextAsync("public");
        await Expect(row.Locator("button[data-action='unpublish']")).ToBeVisibleAsync();
        await BrowserFixture.ScreenshotAsync(page, "server-checkpoints");

        var listed = await server.GetJsonAsync($"api/v1/training_runs/{Uri.EscapeDataString(client.ModelId)}/checkpoints");
        var checkpoint = Assert.Single(listed.GetProperty("checkpoints").EnumerateArray());
        Assert.Equal("weights/c1", checkpoint.GetProperty("checkpoint_id").GetString());
        Assert.True(checkpoint.GetProperty("public").GetBoolean());

        await row.Locator("input[data-field='ttl']").FillAsync("2");
        await row.Locator("button[data-action='ttl']").ClickAsync();
        await Expect(row.Locator("td").Nth(5)).Not.ToHaveTextAsync("never");
        var withTtl = await server.GetJsonAsync($"api/v1/training_runs/{Uri.EscapeDataString(client.ModelId)}/checkpoints");
        Assert.Equal(JsonValueKind.String, withTtl.GetProperty("checkpoints")[0].GetProperty("expires_at").ValueKind);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Dashboard_PipelineTimelineDrawsOverlappingTrainingStepsAndSamplesAsBars()
    {
        await using var server = await DashboardServer.StartAsync();
        var client = await server.CreateTrainingClientAsync();
        await DashboardServer.TrainStepAsync(client);                  // sequential: waits between operations
        var datum = Datum.Create(
            ModelInput.FromInts([5, 6, 7, 8, 9, 10, 11, 12]),
            new Dictionary<string, object> { ["target_tokens"] = new[] { 6, 7, 8, 9, 10, 11, 12, 13 }, ["weights"] = Enumerable.Repeat(1f, 8).ToArray() });
        var futures = new List<Task>();
        for (var step = 0; step < 3; step++)                          // pipelined: every step queued before the first finishes
        {
            futures.Add((await client.ForwardBackwardAsync(WaitUntil.Started, [datum], LossFnType.CrossEntropy)).AsTask());
            futures.Add((await client.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = 0.01 })).AsTask());
        }

        await Task.WhenAll(futures);
        var sampler = await client.SaveWeightsAndGetSamplingClientAsync();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(i => sampler.SampleAsync(WaitUntil.Completed, ModelInput.FromInts([5, 6, 7]), 1, new SamplingParams { MaxTokens = 4, Seed = i })));
        var (context, page, errors) = await browser.NewPageAsync();
        await using var _ = context;

        await page.GotoAsync(server.BaseUrl.ToString());
        await page.FillAsync("#key-input", DashboardServer.Alice);
        await page.ClickAsync("#key-submit");
        await page.ClickAsync($"li.run[data-run-id='{client.ModelId}']");

        var timeline = page.Locator("#timeline");
        await Expect(timeline).ToBeVisibleAsync();
        await Expect(page.Locator("#timeline-run")).ToHaveTextAsync(client.ModelId);
        var chart = page.Locator("#timeline-chart");
        await Expect(chart).ToHaveAttributeAsync("data-operations", "10");     // 4 forward_backward, 4 optim_step, 2 samples
        await Expect(chart.Locator("rect.tl-run[data-op='forward_backward']")).ToHaveCountAsync(4);
        await Expect(chart.Locator("rect.tl-run[data-op='optim_step']")).ToHaveCountAsync(4);
        await Expect(chart.Locator("rect.tl-run[data-op='sample']")).ToHaveCountAsync(2);
        Assert.Equal(8 + 2, await chart.Locator("rect.tl-queued").CountAsync());
        Assert.Equal("forward_backward seq 1", (await chart.Locator("rect.tl-run[data-op='forward_backward'] title").First.TextContentAsync())![..22]);

        // The three pipelined steps were queued while earlier ones ran; the sequential step left the engine idle.
        var overlapped = int.Parse((await chart.GetAttributeAsync("data-overlapped"))!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(overlapped >= 4, $"overlapped {overlapped}");
        Assert.True(int.Parse((await chart.GetAttributeAsync("data-gaps"))!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
        await Expect(page.Locator("#timeline-summary")).ToContainTextAsync("training operations were queued before the previous one finished");

        // Bars are placed in time order: each optim_step runs after the forward_backward before it.
        var starts = await page.EvaluateAsync<double[]>("[...document.querySelectorAll('#timeline-chart rect.tl-run[data-op=\"forward_backward\"], #timeline-chart rect.tl-run[data-op=\"optim_step\"]')].sort((a, b) => a.dataset.seq - b.dataset.seq).map(r => +r.getAttribute('x'))");
        Assert.Equal(starts.Order(), starts);
        await BrowserFixture.ScreenshotAsync(page, "pipeline-timeline");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Dashboard_WrongKeyIsRejectedInTheKeyDialog()
    {
        await using var server = await DashboardServer.StartAsync();
        var (context, page, _) = await browser.NewPageAsync();
        await using var __ = context;

        await page.GotoAsync(server.BaseUrl.ToString());
        await page.FillAsync("#key-input", "tml-wrong-key-00000000");
        await page.ClickAsync("#key-submit");

        await Expect(page.Locator("#key-error")).ToContainTextAsync("Invalid API key");
        await Expect(page.Locator("#key-dialog")).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('tinkerflow.apiKey')"));
    }
}
