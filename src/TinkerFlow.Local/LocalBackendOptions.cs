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
/// <item><term><see cref="MaxConcurrentSamples"/></term><description>256 samples (rows) decoding at once in one model's batch (later requests wait in arrival order)</description></item>
/// <item><term><see cref="MaxWaitingSamples"/></term><description>1,024 samples (rows) waiting for room in one model's batch; a request beyond it is refused with a 429 (back-pressure)</description></item>
/// <item><term><see cref="MaxSampleKvBytes"/></term><description>1 GiB of KV cache per model's sampling batch</description></item>
/// <item><term><see cref="MaxTokensPerMicroBatch"/></term><description>16,384 padded tokens per forward pass; larger requests run in several passes</description></item>
/// <item><term><see cref="ActivationCheckpointing"/></term><description><see cref="Local.ActivationCheckpointing.Auto"/>: checkpoint decoder layers only when a micro-batch's estimated activations exceed <see cref="ActivationMemoryBudgetBytes"/></description></item>
/// <item><term><see cref="ActivationMemoryBudgetBytes"/></term><description>2 GiB of activations per micro-batch</description></item>
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

    /// <summary>
    /// How many samples (rows, over all requests and adapters) one base model decodes at once in its continuous batch;
    /// requests beyond it wait in arrival order. A single request with more samples runs when the batch is empty.
    /// </summary>
    public int MaxConcurrentSamples { get; init; } = 256;

    /// <summary>
    /// The most KV-cache bytes one base model's sampling batch may hold (rows × longest prompt + max_tokens × bytes per
    /// token); requests beyond it wait in arrival order. A single larger request runs when the batch is empty.
    /// </summary>
    public long MaxSampleKvBytes { get; init; } = 1L << 30;

    /// <summary>
    /// How many samples (rows) may wait for room in one base model's batch. A sample request that would queue beyond it
    /// is refused at submission with a retryable 429 user error (the Tinker wire's sampling back-pressure: clients back
    /// off and resend) instead of waiting behind an unbounded queue; when nothing waits, one request of any size is
    /// accepted.
    /// </summary>
    public int MaxWaitingSamples { get; init; } = 1024;

    /// <summary>The most padded tokens in one forward pass; bigger requests are processed in several passes.</summary>
    public int MaxTokensPerMicroBatch { get; init; } = 16_384;

    /// <summary>When forward_backward recomputes decoder layers instead of storing their activations.</summary>
    public ActivationCheckpointing ActivationCheckpointing { get; init; } = ActivationCheckpointing.Auto;

    /// <summary>The activation memory one micro-batch may keep before <see cref="Local.ActivationCheckpointing.Auto"/> checkpoints layers.</summary>
    public long ActivationMemoryBudgetBytes { get; init; } = Engine.TrainingSettings.DefaultActivationBudgetBytes;

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
