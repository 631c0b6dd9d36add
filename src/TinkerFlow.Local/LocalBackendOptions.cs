using TinkerFlow.Local.Limits;

namespace TinkerFlow.Local;

/// <summary>
/// Settings of the embedded engine.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="HomeDirectory"/></term><description><c>TINKERFLOW_HOME</c>, else <c>~/.tinkerflow</c></description></item>
/// <item><term><see cref="ModelDirectories"/></term><description><c>TINKERFLOW_MODELS</c>: Hugging Face model folders separated by <c>:</c> or <c>,</c>, each optionally <c>name=path</c></description></item>
/// <item><term><see cref="Owner"/></term><description><c>local</c></description></item>
/// <item><term><see cref="MaxConcurrentSamples"/></term><description>2 sampling requests computing at once (the rest queue)</description></item>
/// <item><term><see cref="MaxTokensPerMicroBatch"/></term><description>16,384 padded tokens per forward pass; larger requests run in several passes</description></item>
/// <item><term><see cref="SeqGapGrace"/></term><description>1 s before a missing seq id stops holding back later requests</description></item>
/// <item><term><see cref="Limits"/></term><description>admission limits (<see cref="ResourceLimits"/>: LoRA rank, memory budgets, sample and batch sizes, counts per user)</description></item>
/// </list>
/// </remarks>
public sealed class LocalBackendOptions
{
    /// <summary>The data directory for runs, sessions and checkpoints.</summary>
    public string HomeDirectory { get; init; } = Storage.LocalStore.DefaultHome();

    /// <summary>Extra base models: Hugging Face folders (<c>config.json</c>, safetensors, <c>tokenizer.json</c>), keyed by model name.</summary>
    public IReadOnlyDictionary<string, string> ModelDirectories { get; init; } = ParseModelDirectories(Environment.GetEnvironmentVariable("TINKERFLOW_MODELS"));

    /// <summary>The user that owns everything this backend creates (the server passes one per API key).</summary>
    public string Owner { get; init; } = "local";

    /// <summary>How many sampling requests compute at once.</summary>
    public int MaxConcurrentSamples { get; init; } = 2;

    /// <summary>The most padded tokens in one forward pass; bigger requests are processed in several passes.</summary>
    public int MaxTokensPerMicroBatch { get; init; } = 16_384;

    /// <summary>How long a missing seq id may hold back a model's later requests.</summary>
    public TimeSpan SeqGapGrace { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Admission limits checked before any allocation a request asks for.</summary>
    public ResourceLimits Limits { get; init; } = new();

    /// <summary>Clock for checkpoint times and TTLs.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Parses <c>TINKERFLOW_MODELS</c>: folders separated by <c>:</c> or <c>,</c>, each <c>path</c> or <c>name=path</c>.</summary>
    /// <param name="value">The variable's value.</param>
    /// <returns>Model name → folder.</returns>
    public static IReadOnlyDictionary<string, string> ParseModelDirectories(string? value)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrWhiteSpace(value))
        {
            return result;
        }

        foreach (var entry in value.Split([':', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            var (name, path) = eq > 0 ? (entry[..eq], entry[(eq + 1)..]) : (Path.GetFileName(Path.TrimEndingDirectorySeparator(entry)), entry);
            result[name] = path;
        }

        return result;
    }
}
