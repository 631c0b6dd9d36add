using System.Text.RegularExpressions;
using Spectre.Console.Testing;
using TinkerFlow.Cli;

namespace TinkerFlow.Dashboard.Tests;

/// <summary><c>tinkerflow dashboard --log-path DIR</c>.</summary>
[Collection("Torch")]
public sealed partial class DashboardCommandTests
{
    [Fact]
    public async Task DashboardCommand_MissingLogPathIsUserError()
    {
        var console = new TestConsole();
        var error = new StringWriter();
        var missing = Path.Combine(Path.GetTempPath(), $"tinkerflow-no-such-{Guid.NewGuid():N}");

        var code = await new CliApp(console, error).RunAsync(["dashboard", "--log-path", missing]);

        Assert.Equal(ExitCodes.UserError, code);
        Assert.Contains("does not exist", error.ToString());
        Assert.Contains("hint:", error.ToString());
    }

    [Fact]
    public async Task DashboardCommand_ServesThePageUntilCancelled()
    {
        await using var logs = new LogFolder();
        logs.Append("run-a", 0, 2);
        var console = new TestConsole().Width(400);
        using var stop = new CancellationTokenSource();
        var run = new CliApp(console, new StringWriter()).RunAsync(["dashboard", "--log-path", logs.Root, "--urls", "http://127.0.0.1:0"], stop.Token);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Match url;
        while (!(url = UrlPattern().Match(console.Output)).Success)
        {
            Assert.False(run.IsCompleted, $"dashboard exited early: {console.Output}");
            await Task.Delay(50, timeout.Token);
        }

        using var http = new HttpClient { BaseAddress = new Uri(url.Value) };
        var page = await http.GetStringAsync("/");
        var runs = await http.GetStringAsync("dashboard/api/runs");
        await stop.CancelAsync();
        var code = await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains("<title>TinkerFlow dashboard</title>", page);
        Assert.Contains("\"run_id\":\"run-a\"", runs);
        Assert.Equal(ExitCodes.Success, code);
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/")]
    private static partial Regex UrlPattern();
}
