using System.Globalization;
using TinkerFlow.Local;
using TinkerFlow.Local.Limits;

namespace TinkerFlow.Server;

/// <summary>
/// The server's own command-line options: which take a value, how values parse, what they set, and the <c>--help</c>
/// text. <see cref="Settings"/> is the one list of the tunable options; <c>tinkerflow serve</c> offers the same ones.
/// </summary>
internal static class ServerArguments
{
    private static readonly string[] s_valued = ["--model", "--home", .. Settings().Select(o => o.Name)];

    /// <summary>Whether <paramref name="name"/> is one of the server's options that take a value.</summary>
    public static bool TakesValue(string name) => s_valued.Contains(name, StringComparer.Ordinal);

    /// <summary>Whether the arguments ask for the help text.</summary>
    public static bool WantsHelp(IEnumerable<string> args) => args.Any(a => a is "--help" or "-h" or "-?");

    /// <summary>The tunable option called <paramref name="name"/>, or null.</summary>
    public static ServerSetting? Find(string name) => Settings().FirstOrDefault(o => o.Name == name);

    /// <summary>
    /// Every tunable server option (all but <c>--urls</c>, <c>--model</c> and <c>--home</c>): name, value, help text with
    /// its default on this machine, and how it sets <see cref="ServerOptions"/>. Limits come after <c>--max-request-body</c>.
    /// </summary>
    public static IReadOnlyList<ServerSetting> Settings()
    {
        var limits = new ResourceLimits();
        var machine = ResourceLimits.MachineMemoryBytes;
        var engine = new LocalBackendOptions();
        return
        [
            new("--request-log-level", "<level>", "ASP.NET Core request logs (default: TINKERFLOW_REQUEST_LOG_LEVEL, else Warning)",
                (o, n, v) => o.RequestLogLevel = ServerOptions.ParseLogLevel(v, n)),
            new("--session-timeout", "<seconds>", "a session without a heartbeat this long has its models and samplers\nunloaded (checkpoints stay) (default 300)",
                (o, n, v) => o.SessionTimeout = TimeSpan.FromSeconds(Count(n, v))),
            new("--max-concurrent-samples", "<n>", $"samples (rows, over all requests and adapters) one base model decodes\nat once in its continuous batch; later ones wait (default {engine.MaxConcurrentSamples})",
                (o, n, v) => o.MaxConcurrentSamples = Count(n, v)),
            new("--max-batch-kv-bytes", "<size>", $"KV cache one base model's sampling batch may hold; later requests wait\n(default {MemoryEstimator.Format(engine.MaxSampleKvBytes)})",
                (o, n, v) => o.MaxSampleKvBytes = Bytes(n, v)),
            new("--max-waiting-samples", "<n>", $"samples that may wait for room in one model's batch; a sample request\nbeyond it gets 429 + Retry-After and the client resends it\n(default {engine.MaxWaitingSamples:N0})",
                (o, n, v) => o.MaxWaitingSamples = Count(n, v)),
            new("--max-request-body", "<size>", "largest request body, 413 above (default 32M)",
                (o, n, v) => o.MaxRequestBodyBytes = Bytes(n, v)),
            new("--max-lora-rank", "<n>", $"largest LoRA rank; per base model never above its hidden size\n(default {limits.MaxLoraRank})",
                (o, n, v) => o.Limits = o.Limits with { MaxLoraRank = Count(n, v) }),
            new("--memory-budget", "<size>", $"adapters + optimizer state + sample KV caches of all users\n(default half the machine's memory: {MemoryEstimator.Format(limits.EffectiveMemoryBudgetBytes)} of {MemoryEstimator.Format(machine)})",
                (o, n, v) => o.Limits = o.Limits with { MemoryBudgetBytes = Bytes(n, v) }),
            new("--user-memory-budget", "<size>", $"the same for one user (default a quarter of --memory-budget:\n{MemoryEstimator.Format(limits.EffectiveUserMemoryBudgetBytes)})",
                (o, n, v) => o.Limits = o.Limits with { UserMemoryBudgetBytes = Bytes(n, v) }),
            new("--max-sample-bytes", "<size>", $"estimated KV cache of one sample request, num_samples × (prompt +\nmax_tokens) positions (default an eighth of --memory-budget:\n{MemoryEstimator.Format(limits.EffectiveMaxSampleBytes)})",
                (o, n, v) => o.Limits = o.Limits with { MaxSampleBytes = Bytes(n, v) }),
            new("--max-forward-backward-tokens", "<n>", $"model-input tokens in one forward(_backward) request\n(default {limits.MaxForwardBackwardTokens:N0})",
                (o, n, v) => o.Limits = o.Limits with { MaxForwardBackwardTokens = Count(n, v) }),
            new("--max-sessions-per-user", "<n>", $"live sessions per user (default {limits.MaxSessionsPerUser})",
                (o, n, v) => o.Limits = o.Limits with { MaxSessionsPerUser = Count(n, v) }),
            new("--max-models-per-user", "<n>", $"training models in memory per user (default {limits.MaxModelsPerUser})",
                (o, n, v) => o.Limits = o.Limits with { MaxModelsPerUser = Count(n, v) }),
            new("--max-samplers-per-user", "<n>", $"sampling sessions in memory per user (default {limits.MaxSamplersPerUser:N0})",
                (o, n, v) => o.Limits = o.Limits with { MaxSamplersPerUser = Count(n, v) }),
        ];
    }

    /// <summary>Parses a positive byte count: a number with an optional K, M, G or T suffix (powers of 1024; <c>KiB</c>, <c>MB</c>… also read as powers of 1024).</summary>
    /// <exception cref="ArgumentException">Missing, malformed or not positive.</exception>
    public static long Bytes(string name, string? value)
    {
        var text = (value ?? throw new ArgumentException($"{name} needs a size in bytes, e.g. {name} 8G.")).Trim();
        var digits = text.TrimEnd('B', 'b', 'i', 'I');
        long unit = 1;
        if (digits.Length > 0 && char.IsLetter(digits[^1]))
        {
            unit = char.ToUpperInvariant(digits[^1]) switch
            {
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                'T' => 1L << 40,
                _ => 0,
            };
            digits = digits[..^1];
        }

        if (unit == 0 || !double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !(number * unit >= 1) || number * unit > long.MaxValue)
        {
            throw new ArgumentException($"{name} takes a positive size such as 8G, 512M or 1048576, got '{Shorten(text)}'.");
        }

        return (long)(number * unit);
    }

    /// <summary>Parses a positive whole number.</summary>
    /// <exception cref="ArgumentException">Missing, malformed or not positive.</exception>
    public static int Count(string name, string? value)
    {
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 1)
        {
            throw new ArgumentException($"{name} takes a positive whole number, got '{Shorten(value ?? "")}'.");
        }

        return n;
    }

    /// <summary>The <c>--help</c> text: every option, its default on this machine and the rule behind it.</summary>
    public static string Help()
    {
        var settings = Settings();
        int limitsStart = settings.ToList().FindIndex(o => o.Name == "--max-request-body");
        return $"""
            tinkerflow-server: the Tinker HTTP API over the embedded TinkerFlow engine.

            Usage: dotnet run -c Release --project src/TinkerFlow.Server -- [options]

              --urls <url>                      where to listen (ASP.NET Core), e.g. http://127.0.0.1:8000
              --model <name|dir|name=dir>       serve a built-in model or a Hugging Face folder (repeatable)
              --home <dir>                      data directory (default: TINKERFLOW_HOME, else ~/.tinkerflow)
            {Lines(settings.Take(limitsStart))}

            Limits (each refusal is a 4xx with category "user"; 429 where waiting helps). Readable by clients at
            GET /api/v1/limits.
            {Lines(settings.Skip(limitsStart))}

            Sizes take K, M, G or T suffixes (powers of 1024). Environment: TINKERFLOW_API_KEYS (comma-separated
            tml-… keys), TINKERFLOW_MODELS (extra model folders).
            """;
    }

    private static string Lines(IEnumerable<ServerSetting> settings) =>
        string.Join(
            "\n",
            settings.Select(o =>
            {
                var lines = o.Help.Split('\n');
                var first = $"  {o.Name} {o.Value}".PadRight(36) + lines[0];
                return string.Join("\n", lines.Skip(1).Select(l => new string(' ', 36) + l).Prepend(first));
            }));

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";
}

/// <summary>One tunable server option.</summary>
/// <param name="Name">The option, e.g. <c>--max-waiting-samples</c>.</param>
/// <param name="Value">Its value placeholder, e.g. <c>&lt;n&gt;</c>.</param>
/// <param name="Help">What it sets and its default (lines separated by <c>\n</c>).</param>
/// <param name="Apply">Parses a value (name, value) into the options; throws <see cref="ArgumentException"/> on a bad value.</param>
internal sealed record ServerSetting(string Name, string Value, string Help, Action<ServerOptions, string, string?> Apply);
