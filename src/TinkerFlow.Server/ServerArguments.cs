using System.Globalization;
using TinkerFlow.Local.Limits;

namespace TinkerFlow.Server;

/// <summary>The server's own command-line options: which take a value, how values parse, and the <c>--help</c> text.</summary>
internal static class ServerArguments
{
    private static readonly string[] s_valued =
    [
        "--model", "--home", "--max-request-body", "--session-timeout", "--max-concurrent-samples", "--max-lora-rank",
        "--memory-budget", "--user-memory-budget", "--max-sample-bytes", "--max-forward-backward-tokens",
        "--max-sessions-per-user", "--max-models-per-user", "--max-samplers-per-user",
    ];

    /// <summary>Whether <paramref name="name"/> is one of the server's options that take a value.</summary>
    public static bool TakesValue(string name) => s_valued.Contains(name, StringComparer.Ordinal);

    /// <summary>Whether the arguments ask for the help text.</summary>
    public static bool WantsHelp(IEnumerable<string> args) => args.Any(a => a is "--help" or "-h" or "-?");

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
        var limits = new ResourceLimits();
        var machine = ResourceLimits.MachineMemoryBytes;
        return $"""
            tinkerflow-server: the Tinker HTTP API over the embedded TinkerFlow engine.

            Usage: dotnet run -c Release --project src/TinkerFlow.Server -- [options]

              --urls <url>                      where to listen (ASP.NET Core), e.g. http://127.0.0.1:8000
              --model <name|dir|name=dir>       serve a built-in model or a Hugging Face folder (repeatable)
              --home <dir>                      data directory (default: TINKERFLOW_HOME, else ~/.tinkerflow)
              --session-timeout <seconds>       a session without a heartbeat this long has its models and samplers
                                                unloaded (checkpoints stay) (default 300)
              --max-concurrent-samples <n>      sample requests computing at once (default 2)

            Limits (each refusal is a 4xx with category "user"; 429 where waiting helps). Readable by clients at
            GET /api/v1/limits.
              --max-request-body <size>         largest request body, 413 above (default 32M)
              --max-lora-rank <n>               largest LoRA rank; per base model never above its hidden size
                                                (default {limits.MaxLoraRank})
              --memory-budget <size>            adapters + optimizer state + sample KV caches of all users
                                                (default half the machine's memory: {MemoryEstimator.Format(limits.EffectiveMemoryBudgetBytes)} of {MemoryEstimator.Format(machine)})
              --user-memory-budget <size>       the same for one user (default a quarter of --memory-budget:
                                                {MemoryEstimator.Format(limits.EffectiveUserMemoryBudgetBytes)})
              --max-sample-bytes <size>         estimated KV cache of one sample request, num_samples × (prompt +
                                                max_tokens) positions (default an eighth of --memory-budget:
                                                {MemoryEstimator.Format(limits.EffectiveMaxSampleBytes)})
              --max-forward-backward-tokens <n> model-input tokens in one forward(_backward) request
                                                (default {limits.MaxForwardBackwardTokens:N0})
              --max-sessions-per-user <n>       live sessions per user (default {limits.MaxSessionsPerUser})
              --max-models-per-user <n>         training models in memory per user (default {limits.MaxModelsPerUser})
              --max-samplers-per-user <n>       sampling sessions in memory per user (default {limits.MaxSamplersPerUser:N0})

            Sizes take K, M, G or T suffixes (powers of 1024). Environment: TINKERFLOW_API_KEYS (comma-separated
            tml-… keys), TINKERFLOW_MODELS (extra model folders).
            """;
    }

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
