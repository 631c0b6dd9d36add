using System.Text.Json;
using System.Text.Json.Serialization;

namespace TinkerFlow.Cookbook.Checkpoints;

/// <summary>
/// One line of <c>checkpoints.jsonl</c>:
/// <c>{"name","batch","epoch","final","state_path"?,"sampler_path"?,"rolling"?,"step","elapsed_tokens","rng_seed"?,"rng_state"?, …extras}</c>.
/// Periodic records have both paths, rolling records only <c>state_path</c> (and <c>rolling: true</c>), the final
/// record both paths and <c>final: true</c>.
/// </summary>
public sealed record CheckpointRecord
{
    /// <summary>Checkpoint name, e.g. <c>000020</c> or <c>final</c> (<c>name</c>).</summary>
    public required string Name { get; init; }

    /// <summary>Index within <see cref="Epoch"/> of the next batch to train (<c>batch</c>).</summary>
    public int Batch { get; init; }

    /// <summary>Epoch of the next batch to train (<c>epoch</c>).</summary>
    public int Epoch { get; init; }

    /// <summary>Datums of batch <see cref="Batch"/> already trained, when a token-bounded batcher split it (<c>item</c>); omitted when 0.</summary>
    public int? Item { get; init; }

    /// <summary>True for the run's final checkpoint (<c>final</c>).</summary>
    public bool Final { get; init; }

    /// <summary>Training state (weights plus optimizer), a <c>tinker://…/weights/…</c> path (<c>state_path</c>).</summary>
    public string? StatePath { get; init; }

    /// <summary>Sampler weights, a <c>tinker://…/sampler_weights/…</c> path (<c>sampler_path</c>).</summary>
    public string? SamplerPath { get; init; }

    /// <summary>True for a rolling (state-only, short-lived) checkpoint (<c>rolling</c>); omitted otherwise.</summary>
    public bool? Rolling { get; init; }

    /// <summary>Optimizer steps completed (<c>step</c>).</summary>
    public int Step { get; init; }

    /// <summary>Tokens trained so far (<c>elapsed_tokens</c>).</summary>
    public long ElapsedTokens { get; init; }

    /// <summary>Seed of the loop's random generator (<c>rng_seed</c>).</summary>
    public long? RngSeed { get; init; }

    /// <summary>State of the loop's random generator (<c>rng_state</c>).</summary>
    public ulong? RngState { get; init; }

    /// <summary>Other top-level fields (loop-state extras such as a renderer name), kept on round trips.</summary>
    /// <remarks>Settable rather than init-only because System.Text.Json cannot bind extension data through a constructor.</remarks>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The loop state to resume from.</summary>
    [JsonIgnore]
    public LoopState LoopState => new(Epoch, Batch, Step)
    {
        Item = Item ?? 0,
        ElapsedTokens = ElapsedTokens,
        RngSeed = RngSeed,
        RngState = RngState,
        Extra = Extra,
    };

    /// <summary>Builds a record from a loop state and the saved paths.</summary>
    /// <param name="name">The checkpoint name.</param>
    /// <param name="state">The loop state.</param>
    /// <param name="kind">The checkpoint kind (sets <see cref="Final"/> and <see cref="Rolling"/>).</param>
    /// <param name="statePath">The training state path.</param>
    /// <param name="samplerPath">The sampler path, or null.</param>
    /// <returns>The record.</returns>
    public static CheckpointRecord FromLoopState(string name, LoopState state, CheckpointKind kind, string? statePath, string? samplerPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(state);
        return new CheckpointRecord
        {
            Name = name,
            Batch = state.Batch,
            Epoch = state.Epoch,
            Item = state.Item == 0 ? null : state.Item,
            Final = kind == CheckpointKind.Final,
            StatePath = statePath,
            SamplerPath = samplerPath,
            Rolling = kind == CheckpointKind.Rolling ? true : null,
            Step = state.Step,
            ElapsedTokens = state.ElapsedTokens,
            RngSeed = state.RngSeed,
            RngState = state.RngState,
            Extra = state.Extra is null ? null : new Dictionary<string, JsonElement>(state.Extra),
        };
    }
}
