namespace TinkerFlow.Local.Limits;

/// <summary>
/// Admission limits of the engine: every request is checked against them before anything proportional to its size is
/// allocated. The server exposes each one as a command-line option and at <c>GET /api/v1/limits</c>.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Limit</term><description>Default (rule)</description></listheader>
/// <item><term><see cref="MaxLoraRank"/></term><description>128; per base model never above its hidden size</description></item>
/// <item><term><see cref="MemoryBudgetBytes"/></term><description>half of the machine's memory (<see cref="MachineMemoryBytes"/>)</description></item>
/// <item><term><see cref="UserMemoryBudgetBytes"/></term><description>a quarter of <see cref="MemoryBudgetBytes"/></description></item>
/// <item><term><see cref="MaxSampleBytes"/></term><description>an eighth of <see cref="MemoryBudgetBytes"/></description></item>
/// <item><term><see cref="MaxForwardBackwardTokens"/></term><description>131,072 tokens (8 micro-batches of the default 16,384)</description></item>
/// <item><term><see cref="MaxSessionsPerUser"/></term><description>256 live sessions (heartbeat within <see cref="SessionWindow"/>)</description></item>
/// <item><term><see cref="MaxModelsPerUser"/></term><description>32 training models in memory</description></item>
/// <item><term><see cref="MaxSamplersPerUser"/></term><description>1,024 sampling sessions in memory</description></item>
/// </list>
/// The memory budget counts what requests add on top of the shared base models: each training model's adapter,
/// gradients and AdamW state, each sampler's adapter snapshot, and the KV cache of every queued or running sample
/// (estimates of <c>MemoryEstimator</c>).
/// </remarks>
public sealed record ResourceLimits
{
    /// <summary>Default <see cref="MaxLoraRank"/>.</summary>
    public const int DefaultMaxLoraRank = 128;

    /// <summary>Default <see cref="MaxForwardBackwardTokens"/>.</summary>
    public const int DefaultMaxForwardBackwardTokens = 131_072;

    /// <summary>The memory this process may use: physical memory, or the container's limit when lower.</summary>
    public static long MachineMemoryBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>The largest LoRA rank accepted for any base model (a model's own maximum is its hidden size).</summary>
    public int MaxLoraRank { get; init; } = DefaultMaxLoraRank;

    /// <summary>Bytes of adapters, optimizer state and sample KV caches the whole engine may hold; null: half the machine's memory.</summary>
    public long? MemoryBudgetBytes { get; init; }

    /// <summary>The same budget for one user (it also caps one forward micro-batch's activation estimate); null: a quarter of the engine's budget.</summary>
    public long? UserMemoryBudgetBytes { get; init; }

    /// <summary>Estimated bytes (KV cache and logits) of one sample request; null: an eighth of the engine's budget.</summary>
    public long? MaxSampleBytes { get; init; }

    /// <summary>Model-input tokens in one forward or forward_backward request.</summary>
    public int MaxForwardBackwardTokens { get; init; } = DefaultMaxForwardBackwardTokens;

    /// <summary>Sessions one user may have live at once (created or heartbeating within <see cref="SessionWindow"/>).</summary>
    public int MaxSessionsPerUser { get; init; } = 256;

    /// <summary>Training models one user may have in memory.</summary>
    public int MaxModelsPerUser { get; init; } = 32;

    /// <summary>Sampling sessions one user may have in memory.</summary>
    public int MaxSamplersPerUser { get; init; } = 1024;

    /// <summary>How recent a session's heartbeat must be for it to count as live (the server passes its session timeout).</summary>
    public TimeSpan SessionWindow { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary><see cref="MemoryBudgetBytes"/> with its default applied.</summary>
    public long EffectiveMemoryBudgetBytes => MemoryBudgetBytes ?? (MachineMemoryBytes / 2);

    /// <summary><see cref="UserMemoryBudgetBytes"/> with its default applied.</summary>
    public long EffectiveUserMemoryBudgetBytes => UserMemoryBudgetBytes ?? (EffectiveMemoryBudgetBytes / 4);

    /// <summary><see cref="MaxSampleBytes"/> with its default applied.</summary>
    public long EffectiveMaxSampleBytes => MaxSampleBytes ?? (EffectiveMemoryBudgetBytes / 8);

    /// <summary>Throws when a limit is not positive.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A limit below 1.</exception>
    public void Validate()
    {
        Positive(MaxLoraRank, nameof(MaxLoraRank));
        Positive(EffectiveMemoryBudgetBytes, nameof(MemoryBudgetBytes));
        Positive(EffectiveUserMemoryBudgetBytes, nameof(UserMemoryBudgetBytes));
        Positive(EffectiveMaxSampleBytes, nameof(MaxSampleBytes));
        Positive(MaxForwardBackwardTokens, nameof(MaxForwardBackwardTokens));
        Positive(MaxSessionsPerUser, nameof(MaxSessionsPerUser));
        Positive(MaxModelsPerUser, nameof(MaxModelsPerUser));
        Positive(MaxSamplersPerUser, nameof(MaxSamplersPerUser));
        if (SessionWindow <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(SessionWindow), SessionWindow, "SessionWindow must be positive.");
        }
    }

    private static void Positive(long value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
        }
    }
}
