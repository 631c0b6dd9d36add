using Spectre.Console.Testing;

namespace TinkerFlow.Cli.Tests;

/// <summary>Runs <see cref="CliApp"/> in-process on a recording console, with a private environment.</summary>
internal sealed class CliHarness(string home)
{
    /// <summary>Environment variables the command line sees (TINKERFLOW_HOME is the test's temp folder).</summary>
    public Dictionary<string, string?> Environment { get; } = new() { ["TINKERFLOW_HOME"] = home };

    public string Home { get; } = home;

    public Task<CliResult> RunAsync(params string[] args) => RunAsync(args, input: null);

    /// <summary>Runs with <paramref name="input"/> as the answers to confirmation questions (non-interactive console).</summary>
    public async Task<CliResult> RunAsync(string[] args, string? input, CancellationToken cancellationToken = default)
    {
        var console = new TestConsole().Width(400);
        var error = new StringWriter();
        var app = new CliApp(console, error, input is null ? null : new StringReader(input))
        {
            GetEnvironmentVariable = name => Environment.GetValueOrDefault(name),
            RemoteRetryTimeout = TimeSpan.Zero,
        };
        var code = await app.RunAsync(args, cancellationToken);
        return new CliResult(code, console.Output, error.ToString());
    }

    /// <summary>Runs on an interactive console whose keyboard types <paramref name="keys"/> then Enter.</summary>
    public async Task<CliResult> RunInteractiveAsync(string keys, params string[] args)
    {
        var console = new TestConsole().Width(400).Interactive();
        console.Input.PushTextWithEnter(keys);
        var error = new StringWriter();
        var app = new CliApp(console, error) { GetEnvironmentVariable = name => Environment.GetValueOrDefault(name), RemoteRetryTimeout = TimeSpan.Zero };
        var code = await app.RunAsync(args);
        return new CliResult(code, console.Output, error.ToString());
    }
}
