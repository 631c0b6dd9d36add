using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using TinkerFlow.Local;
using TinkerFlow.Types;

namespace TinkerFlow.Cli;

/// <summary>
/// One invocation of a command: where output goes, which backend it talks to (built on first use) and the helpers
/// every command shares (JSON output, tinker-path parsing, confirmation).
/// </summary>
internal sealed class CliContext : IAsyncDisposable
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    private readonly CliApp _app;
    private ServiceClient? _service;
    private LocalBackend? _engine;
    private LocalBackend? _tokenizerEngine;

    public CliContext(CliApp app, ParseResult parse, GlobalOptions options)
    {
        _app = app;
        Json = parse.GetValue(options.Json);
        var baseUrl = NullIfBlank(parse.GetValue(options.BaseUrl)) ?? NullIfBlank(app.GetEnvironmentVariable("TINKER_BASE_URL"));
        if (baseUrl is not null)
        {
            if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new CliUserException(
                    $"'{baseUrl}' is not an http(s) URL.",
                    "Pass the server's address, e.g. --base-url http://127.0.0.1:8000 (or set TINKER_BASE_URL).");
            }

            BaseUrl = uri;
        }

        ApiKey = NullIfBlank(parse.GetValue(options.ApiKey)) ?? NullIfBlank(app.GetEnvironmentVariable("TINKER_API_KEY"));
        Home = NullIfBlank(parse.GetValue(options.Home)) ?? NullIfBlank(app.GetEnvironmentVariable("TINKERFLOW_HOME"))
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".tinkerflow");
    }

    /// <summary>Where tables, progress and plain results go.</summary>
    public IAnsiConsole Console => _app.Console;

    /// <summary>Where errors and warnings go.</summary>
    public TextWriter Error => _app.Error;

    /// <summary>Whether the result is written as JSON.</summary>
    public bool Json { get; }

    /// <summary>The server, or null for the embedded engine.</summary>
    public Uri? BaseUrl { get; }

    /// <summary>The API key sent to <see cref="BaseUrl"/>.</summary>
    public string? ApiKey { get; }

    /// <summary>The embedded engine's data folder.</summary>
    public string Home { get; }

    /// <summary>True when the commands go to a server.</summary>
    public bool IsRemote => BaseUrl is not null;

    /// <summary>Where the commands go, for messages.</summary>
    public string BackendDescription => IsRemote ? $"the server at {BaseUrl}" : $"the embedded engine (home {Home})";

    /// <summary>Whether progress displays may be drawn (never in JSON mode: stdout carries only the JSON).</summary>
    public bool ShowProgress => !Json;

    /// <summary>The client, built on first use.</summary>
    public ServiceClient Service => _service ??= CreateService();

    /// <summary>The REST client of <see cref="Service"/>.</summary>
    public RestClient Rest => Service.CreateRestClient();

    /// <summary>The embedded engine, or a user error when the commands go to a server.</summary>
    /// <param name="what">What needs the engine, for the message.</param>
    public LocalBackend RequireEngine(string what)
    {
        if (IsRemote)
        {
            throw new CliUserException(
                $"{what} needs the embedded engine, but --base-url/TINKER_BASE_URL points at {BaseUrl}.",
                "Run it on the machine that holds the checkpoint, without --base-url, with the base model registered (TINKERFLOW_MODELS).");
        }

        _ = Service;
        return _engine!;
    }

    /// <summary>Parses a tinker path, or fails with a user error that shows the valid forms.</summary>
    /// <param name="path">The path from the command line.</param>
    public static ParsedCheckpointTinkerPath ParsePath(string path)
    {
        try
        {
            return ParsedCheckpointTinkerPath.FromTinkerPath(path);
        }
        catch (ArgumentException ex)
        {
            throw new CliUserException(
                ex.Message.Replace(" (Parameter 'tinkerPath')", "", StringComparison.Ordinal),
                "Copy a path from 'tinkerflow checkpoint list', e.g. tinker://<run-id>/weights/<name>.");
        }
    }

    /// <summary>Writes a JSON document to stdout, unwrapped and unstyled.</summary>
    /// <param name="node">The document.</param>
    public void WriteJson(JsonNode? node)
    {
        var writer = Console.Profile.Out.Writer;
        writer.WriteLine(node?.ToJsonString(s_indented) ?? "null");
        writer.Flush();
    }

    /// <summary>A wire object as a JSON node, in its wire (snake_case) form.</summary>
    /// <typeparam name="T">A type registered in the Tinker JSON context.</typeparam>
    /// <param name="value">The value.</param>
    public static JsonNode? ToNode<T>(T value) => JsonNode.Parse(TinkerJson.Serialize(value));

    /// <summary>Asks a yes/no question; no answer (closed input) is a user error that names <c>--yes</c>.</summary>
    /// <param name="question">The question, plain text.</param>
    /// <returns>True for yes.</returns>
    public bool Confirm(string question)
    {
        if (Console.Profile.Capabilities.Interactive && _app.Input is null)
        {
            return Console.Prompt(new ConfirmationPrompt(Markup.Escape(question)) { DefaultValue = false });
        }

        Console.Write(new Text($"{question} [y/N] "));
        var answer = _app.Input?.ReadLine();
        Console.WriteLine();
        if (answer is null)
        {
            throw new CliUserException("Cannot ask for confirmation: there is no input to read an answer from.", "Pass --yes to go ahead without asking.");
        }

        return answer.Trim().ToLowerInvariant() is "y" or "yes";
    }

    public async ValueTask DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync().ConfigureAwait(false);
        }

        if (_engine is not null)
        {
            await _engine.DisposeAsync().ConfigureAwait(false);
        }

        if (_tokenizerEngine is not null)
        {
            await _tokenizerEngine.DisposeAsync().ConfigureAwait(false);
        }
    }

    private ServiceClient CreateService()
    {
        if (BaseUrl is { } url)
        {
            var options = new TinkerClientOptions
            {
                BaseUrl = url,
                ApiKey = ApiKey,
                TokenizerResolver = ResolveTokenizerLocally,
            };
            options.Retry.MaxRetries = 2;
            options.Retry.TotalTimeout = _app.RemoteRetryTimeout;
            return new ServiceClient(options);
        }

        _engine = CreateEngine();
        return new ServiceClient(new TinkerClientOptions { Backend = _engine, BaseUrl = null });
    }

    private LocalBackend CreateEngine()
    {
        try
        {
            return new LocalBackend(new LocalBackendOptions
            {
                HomeDirectory = Home,
                ModelDirectories = LocalBackendOptions.ParseModelDirectories(_app.GetEnvironmentVariable("TINKERFLOW_MODELS")),
            });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliUserException(
                $"The embedded engine cannot use '{Home}' as its data folder: {ex.Message}",
                "Pass --home with a writable folder, or set TINKERFLOW_HOME.");
        }
    }

    /// <summary>Servers have no tokenizer endpoint: built-in and TINKERFLOW_MODELS tokenizers are loaded here.</summary>
    private TinkerTokenizer ResolveTokenizerLocally(string baseModel)
    {
        _tokenizerEngine ??= CreateEngine();
        try
        {
            return _tokenizerEngine.GetTokenizerAsync(baseModel).GetAwaiter().GetResult();
        }
        catch (TinkerRequestException ex)
        {
            throw new CliUserException(
                $"The tokenizer of '{baseModel}' is not available on this machine: {ex.Message}",
                $"Register the model's folder locally, e.g. TINKERFLOW_MODELS={baseModel}=/path/to/hf-folder.");
        }
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
