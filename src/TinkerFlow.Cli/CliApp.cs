using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Net.Http;
using System.Net.Sockets;
using Spectre.Console;
using TinkerFlow.Cli.Commands;
using TinkerFlow.Types;

namespace TinkerFlow.Cli;

/// <summary>
/// The <c>tinkerflow</c> command line: <c>serve</c>, <c>dashboard</c>, <c>models</c>, <c>run</c>, <c>checkpoint</c>, <c>sample</c>,
/// <c>export</c> and <c>bench</c>, against the embedded engine (default) or a server (<c>--base-url</c> / <c>TINKER_BASE_URL</c>).
/// </summary>
/// <remarks>
/// Tables, progress and results go to <see cref="Console"/>; <c>--json</c> writes only JSON there. Errors go to
/// <see cref="Error"/> as <c>error: …</c> and <c>hint: …</c> lines. Exit codes are those of <see cref="ExitCodes"/>.
/// Tests run it in-process with a recording console.
/// </remarks>
public sealed class CliApp
{
    /// <summary>Creates the command line over the given console.</summary>
    /// <param name="console">Where results, tables and progress are written.</param>
    /// <param name="error">Where errors are written (default: <see cref="System.Console.Error"/>).</param>
    /// <param name="input">Answers to confirmation questions when the console is not interactive (e.g. piped stdin); null: none.</param>
    public CliApp(IAnsiConsole console, TextWriter? error = null, TextReader? input = null)
    {
        ArgumentNullException.ThrowIfNull(console);
        Console = console;
        Error = error ?? System.Console.Error;
        Input = input;
    }

    /// <summary>Where results, tables and progress are written.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>Where errors are written.</summary>
    public TextWriter Error { get; }

    /// <summary>Answers to confirmation questions when the console is not interactive.</summary>
    public TextReader? Input { get; }

    /// <summary>Reads environment variables (<c>TINKER_BASE_URL</c>, <c>TINKER_API_KEY</c>, <c>TINKERFLOW_HOME</c>,
    /// <c>TINKERFLOW_MODELS</c>); tests replace it.</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>How long calls to a server retry connection failures, 429 and 5xx before giving up (default 15 s;
    /// the library's 300 s suits training loops, not an interactive command).</summary>
    public TimeSpan RemoteRetryTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Runs one command line.</summary>
    /// <param name="args">The arguments, without the program name.</param>
    /// <param name="cancellationToken">Cancels the command (as Ctrl+C does).</param>
    /// <returns>The exit code: <see cref="ExitCodes.Success"/>, <see cref="ExitCodes.UserError"/> or <see cref="ExitCodes.UnexpectedError"/>.</returns>
    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        var root = BuildRootCommand(out var options);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await Error.WriteLineAsync($"error: {error.Message}").ConfigureAwait(false);
            }

            var names = new List<string>();
            for (var result = parse.CommandResult; result is not null; result = result.Parent as CommandResult)
            {
                names.Insert(0, result.Command.Name);
            }

            await Error.WriteLineAsync($"hint: see '{string.Join(' ', names)} --help' for usage.").ConfigureAwait(false);
            return ExitCodes.UserError;
        }

        var configuration = new InvocationConfiguration
        {
            Output = Console.Profile.Out.Writer,
            Error = Error,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return await ReportAsync(ex).ConfigureAwait(false);
        }
    }

    /// <summary>Builds the command tree.</summary>
    internal Command BuildRootCommand(out GlobalOptions options)
    {
        options = new GlobalOptions();

        // A plain command named like the tool (RootCommand would take the name of the assembly, TinkerFlow.Cli).
        var root = new Command("tinkerflow", "Fine-tuning runs, checkpoints, sampling and export on the embedded TinkerFlow engine or a Tinker server.")
        {
            new HelpOption(),
            new VersionOption(),
        };
        options.AddTo(root);
        root.Add(ServeCommand.Create(this, options));
        root.Add(DashboardCommand.Create(this, options));
        root.Add(ModelsCommand.Create(this, options));
        root.Add(RunCommands.Create(this, options));
        root.Add(CheckpointCommands.Create(this, options));
        root.Add(SampleCommand.Create(this, options));
        root.Add(ExportCommand.Create(this, options));
        root.Add(BenchCommand.Create(this, options));
        return root;
    }

    /// <summary>Gives a command its action: a fresh <see cref="CliContext"/>, disposed afterwards.</summary>
    internal void SetAction(Command command, GlobalOptions options, Func<CliContext, ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CliContext(this, parse, options);
            await using (context.ConfigureAwait(false))
            {
                return await action(context, parse, cancellationToken).ConfigureAwait(false);
            }
        });

    private async Task<int> ReportAsync(Exception ex)
    {
        var (code, message, hint) = Classify(ex);
        await Error.WriteLineAsync($"error: {message}").ConfigureAwait(false);
        if (hint is not null)
        {
            await Error.WriteLineAsync($"hint: {hint}").ConfigureAwait(false);
        }

        if (code == ExitCodes.UnexpectedError && !string.IsNullOrEmpty(GetEnvironmentVariable("TINKERFLOW_DEBUG")))
        {
            await Error.WriteLineAsync(ex.ToString()).ConfigureAwait(false);
        }

        return code;
    }

    internal static (int Code, string Message, string? Hint) Classify(Exception ex)
    {
        switch (ex)
        {
            case CliUserException user:
                return (ExitCodes.UserError, user.Message, user.Hint);
            case OperationCanceledException:
                // Ctrl+C cancels System.CommandLine's own token, so any cancellation that reaches here is an interrupt.
                return (ExitCodes.Interrupted, "Interrupted.", null);
            case TinkerRequestException { Status: null } request when IsConnectionFailure(request):
                return (ExitCodes.UserError, request.Message,
                    "Check --base-url / TINKER_BASE_URL, and that the server is running ('tinkerflow serve' starts one).");
            case TinkerRequestException request when request.Category == RequestErrorCategory.User || request.Status is >= 400 and < 500:
                return (ExitCodes.UserError, request.Message, HintFor(request.Status));
            case TinkerRequestException request:
                return (ExitCodes.UnexpectedError, request.Message,
                    "The engine or server failed; try again, and report it with the request id" + (request.RequestId is { } id ? $" ({id})" : "") + " if it persists.");
            case ArgumentException argument:
                return (ExitCodes.UserError, CleanArgumentMessage(argument), "See 'tinkerflow --help' for the accepted values.");
            default:
                return (ExitCodes.UnexpectedError, $"Unexpected failure ({ex.GetType().Name}): {ex.Message}",
                    "Set TINKERFLOW_DEBUG=1 to print the stack trace, and report it.");
        }
    }

    private static bool IsConnectionFailure(TinkerRequestException ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e.GetType().Name == "TinkerConnectionException" || e is HttpRequestException or SocketException)
            {
                return true;
            }
        }

        return false;
    }

    private static string? HintFor(int? status) => status switch
    {
        401 => "Check the API key: --api-key or TINKER_API_KEY.",
        403 => "That belongs to another user: ask its owner to publish it ('tinkerflow checkpoint publish'), or use your own.",
        404 => "List what exists with 'tinkerflow run list' or 'tinkerflow checkpoint list'.",
        409 => "Nothing was changed.",
        _ => null,
    };

    private static string CleanArgumentMessage(ArgumentException ex) =>
        ex.ParamName is { } name ? ex.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message;
}
