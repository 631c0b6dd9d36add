using System.CommandLine;
using Spectre.Console;
using TinkerFlow.Server.Dashboard;

namespace TinkerFlow.Cli.Commands;

/// <summary>
/// <c>tinkerflow dashboard --log-path DIR</c>: a live training dashboard (web page) over the recipes'
/// <c>metrics.jsonl</c> files under DIR, for this machine only, until Ctrl+C.
/// </summary>
internal static class DashboardCommand
{
    public static Command Create(CliApp app, GlobalOptions options)
    {
        var command = new Command("dashboard", "Serve a live training dashboard (web page) over the metrics.jsonl files of local runs until Ctrl+C");
        var logPath = new Option<string>("--log-path")
        {
            Description = "A recipe's log_path (the folder holding metrics.jsonl), or a folder of run folders",
            HelpName = "dir",
            DefaultValueFactory = _ => "runs",
        };
        var urls = new Option<string>("--urls") { Description = "Where to listen (loopback only is answered), e.g. http://127.0.0.1:8080", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        command.Add(logPath);
        command.Add(urls);
        app.SetAction(command, options, async (context, parse, cancellationToken) =>
        {
            var path = parse.GetRequiredValue(logPath);
            Microsoft.AspNetCore.Builder.WebApplication dashboard;
            try
            {
                dashboard = TinkerFlowDashboard.BuildStandalone(path, ["--urls", parse.GetRequiredValue(urls)]);
            }
            catch (ArgumentException ex)
            {
                throw new CliUserException(ex.Message, "Run a recipe first (it writes <log_path>/metrics.jsonl), or pass --log-path <folder>.");
            }

            await using (dashboard.ConfigureAwait(false))
            {
                await dashboard.StartAsync(cancellationToken).ConfigureAwait(false);
                context.Console.WriteLine($"TinkerFlow dashboard for {Path.GetFullPath(path)}: {string.Join(", ", dashboard.Urls.Select(u => u.TrimEnd('/') + "/"))}");
                context.Console.WriteLine("Curves update as runs append to metrics.jsonl. Press Ctrl+C to stop.");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }

                await dashboard.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
