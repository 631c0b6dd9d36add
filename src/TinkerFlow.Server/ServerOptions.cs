using Microsoft.Extensions.Logging;
using TinkerFlow.Local.Limits;

namespace TinkerFlow.Server;

/// <summary>
/// Settings of a TinkerFlow server.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="HomeDirectory"/></term><description><c>TINKERFLOW_HOME</c>, else <c>~/.tinkerflow</c> (<c>--home</c>)</description></item>
/// <item><term><see cref="ApiKeys"/></term><description><c>TINKERFLOW_API_KEYS</c> (comma-separated); none: one key generated and kept in <c>&lt;home&gt;/server-api-key</c></description></item>
/// <item><term><see cref="Models"/></term><description>the built-in <c>tinkerflow/tiny-qwen3</c>, plus each <c>--model &lt;name|dir|name=dir&gt;</c></description></item>
/// <item><term><see cref="LongPollTimeout"/></term><description>30 s, then <c>try_again</c></description></item>
/// <item><term><see cref="FutureRetention"/></term><description>10 min after completion</description></item>
/// <item><term><see cref="SessionTimeout"/></term><description>300 s without a heartbeat frees the session's models and samplers</description></item>
/// <item><term><see cref="SweepInterval"/></term><description>10 s between clean-ups (futures, sessions, archives)</description></item>
/// <item><term><see cref="MaxRequestBodyBytes"/></term><description>32 MiB (413 above, answered from <c>Content-Length</c> before the body is read)</description></item>
/// <item><term><see cref="Limits"/></term><description><see cref="ResourceLimits"/>' defaults: LoRA rank ≤ 128 (and ≤ the model's hidden size), memory budget half the machine's memory, a quarter of it per user, an eighth per sample request, 131,072 tokens per forward_backward, 256 live sessions / 32 models / 1,024 samplers per user</description></item>
/// <item><term><see cref="ArchiveUrlLifetime"/></term><description>15 min</description></item>
/// <item><term><see cref="MaxConcurrentSamples"/></term><description>256 samples decoding at once per model (continuous batch)</description></item>
/// <item><term><see cref="MaxSampleKvBytes"/></term><description>1 GiB of KV cache per model's sampling batch</description></item>
/// <item><term><see cref="MaxWaitingSamples"/></term><description>1,024 samples waiting per model; a sample request beyond it gets 429 with <c>Retry-After</c> (back-pressure)</description></item>
/// <item><term><see cref="PreloadModels"/></term><description>true: load base models at start-up</description></item>
/// <item><term><see cref="RequestLogLevel"/></term><description><c>TINKERFLOW_REQUEST_LOG_LEVEL</c>, else Warning (<c>--request-log-level</c>)</description></item>
/// </list>
/// </remarks>
public sealed class ServerOptions
{
    /// <summary>The data directory: <c>tinkerflow.db</c> (SQLite metadata) and checkpoint folders beside it.</summary>
    public string HomeDirectory { get; set; } = DefaultHome();

    /// <summary>
    /// Accepted API keys (each starts with <c>tml-</c>; each key is one user). Null: read <c>TINKERFLOW_API_KEYS</c>,
    /// and when that is unset too, generate one key, store it under the home directory and use it.
    /// </summary>
    public IReadOnlyList<string>? ApiKeys { get; set; } = ParseKeys(Environment.GetEnvironmentVariable("TINKERFLOW_API_KEYS"));

    /// <summary>Base models to serve besides the built-in ones: built-in names, Hugging Face folders, or <c>name=folder</c>.</summary>
    public IList<string> Models { get; } = [];

    /// <summary>How long <c>retrieve_future</c> waits for a result before answering <c>try_again</c> (must stay under the SDK's 45 s).</summary>
    public TimeSpan LongPollTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a finished request's result stays retrievable.</summary>
    public TimeSpan FutureRetention { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A session without a heartbeat for this long has its in-memory models and samplers freed.</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>Time between background clean-ups.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest accepted request body; bigger ones get 413 (the SDK chunks forward_backward batches at ~5 MB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Admission limits of the engine (LoRA rank, memory budgets, sample and batch sizes, per-user counts).</summary>
    public ResourceLimits Limits { get; set; } = new();

    /// <summary>How long a signed archive download URL stays valid.</summary>
    public TimeSpan ArchiveUrlLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How many samples (rows, over all requests) one base model decodes at once in its continuous batch.</summary>
    public int MaxConcurrentSamples { get; set; } = 256;

    /// <summary>The most KV-cache bytes one base model's sampling batch may hold; requests beyond it wait.</summary>
    public long MaxSampleKvBytes { get; set; } = 1L << 30;

    /// <summary>
    /// How many samples may wait for room in one base model's batch. An <c>asample</c> that would queue beyond it is
    /// answered 429 with <c>Retry-After</c>: the wire's sampling back-pressure, on which the Tinker SDK and TinkerFlow's
    /// client back off and resend the same request.
    /// </summary>
    public int MaxWaitingSamples { get; set; } = 1024;

    /// <summary>How long a missing training seq id may hold back a model's later requests.</summary>
    public TimeSpan SeqGapGrace { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether base models are loaded at start-up (otherwise on first use).</summary>
    public bool PreloadModels { get; set; } = true;

    /// <summary>
    /// The least level of ASP.NET Core's own logs (category <c>Microsoft.AspNetCore</c>): Warning hides the per-request
    /// Information lines; Information shows every request again.
    /// </summary>
    public LogLevel RequestLogLevel { get; set; } = ParseLogLevel(Environment.GetEnvironmentVariable("TINKERFLOW_REQUEST_LOG_LEVEL"), "TINKERFLOW_REQUEST_LOG_LEVEL");

    /// <summary>Parses a log level name (<c>Trace</c>, <c>Debug</c>, <c>Information</c>, <c>Warning</c>, <c>Error</c>, <c>Critical</c>, <c>None</c>); null or empty gives Warning.</summary>
    /// <param name="value">The name, case-insensitive.</param>
    /// <param name="source">Where it came from, for the error message.</param>
    /// <returns>The level.</returns>
    /// <exception cref="ArgumentException">Not a level name.</exception>
    public static LogLevel ParseLogLevel(string? value, string source)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return LogLevel.Warning;
        }

        return Enum.TryParse<LogLevel>(value.Trim(), ignoreCase: true, out var level) && Enum.IsDefined(level) && !int.TryParse(value, out _)
            ? level
            : throw new ArgumentException($"{source}: '{value}' is not a log level; use one of {string.Join(", ", Enum.GetNames<LogLevel>())}.");
    }

    /// <summary>Clock for sessions, checkpoints, result retention and URL expiry (long-polling always uses real time).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Splits a comma-separated key list; null when empty.</summary>
    /// <param name="value">E.g. the value of <c>TINKERFLOW_API_KEYS</c>.</param>
    /// <returns>The keys, or null.</returns>
    public static IReadOnlyList<string>? ParseKeys(string? value)
    {
        var keys = (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return keys.Length == 0 ? null : keys;
    }

    private static string DefaultHome()
    {
        var env = Environment.GetEnvironmentVariable("TINKERFLOW_HOME");
        return string.IsNullOrWhiteSpace(env)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".tinkerflow")
            : env;
    }
}
