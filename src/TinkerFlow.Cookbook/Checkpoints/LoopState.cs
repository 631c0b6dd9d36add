using System.Text.Json;

namespace TinkerFlow.Cookbook.Checkpoints;

/// <summary>
/// Where a training loop stands, saved with every checkpoint so a resumed run continues with the same data order
/// (the cookbook's <c>loop_state</c>): the data cursor of the <em>next</em> batch to train, the number of optimizer
/// steps done, and the state of the loop's random generator.
/// </summary>
/// <param name="Epoch">Epoch of the next batch to train.</param>
/// <param name="Batch">Index within that epoch of the next batch to train.</param>
/// <param name="Step">Optimizer steps completed so far (the global step of the next batch).</param>
public sealed record LoopState(int Epoch, int Batch, int Step)
{
    /// <summary>The state of a fresh run: epoch 0, batch 0, step 0.</summary>
    public static LoopState Start { get; } = new(0, 0, 0);

    /// <summary>Datums of batch <see cref="Batch"/> already trained (a token-bounded batcher can end a step inside a dataset batch); usually 0.</summary>
    public int Item { get; init; }

    /// <summary>Tokens trained so far (<c>elapsed_tokens</c>).</summary>
    public long ElapsedTokens { get; init; }

    /// <summary>Seed of the loop's <c>SeededRandom</c>, when it has one (<c>rng_seed</c>).</summary>
    public long? RngSeed { get; init; }

    /// <summary>State of the loop's <c>SeededRandom</c> (<c>rng_state</c>); restore with <c>SeededRandom.FromState</c>.</summary>
    public ulong? RngState { get; init; }

    /// <summary>Any further fields a recipe wants to keep (written as top-level keys of the record).</summary>
    public IReadOnlyDictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>The state after training one more batch: the cursor moves to the next batch, rolling over to the next
    /// epoch after <paramref name="batchesPerEpoch"/> batches, and the step count grows by one.</summary>
    /// <param name="batchesPerEpoch">The dataset's batch count, at least 1.</param>
    /// <param name="tokens">Tokens in the batch just trained, added to <see cref="ElapsedTokens"/>.</param>
    /// <returns>The new state.</returns>
    public LoopState Advance(int batchesPerEpoch, long tokens = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchesPerEpoch, 1);
        var next = Batch + 1;
        return next >= batchesPerEpoch
            ? this with { Epoch = Epoch + 1, Batch = 0, Item = 0, Step = Step + 1, ElapsedTokens = ElapsedTokens + tokens }
            : this with { Batch = next, Item = 0, Step = Step + 1, ElapsedTokens = ElapsedTokens + tokens };
    }
}
