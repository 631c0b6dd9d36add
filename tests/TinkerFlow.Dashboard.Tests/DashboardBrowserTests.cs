using System.Text.Json;
using Microsoft.Playwright;
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
