using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Data;

/// <summary>
/// Preference pairs in batches: batch i of an epoch holds pairs <c>[i·P, (i+1)·P)</c> of that epoch's shuffle (seed =
/// <c>seed + epoch</c>), turned into datums <c>[chosen₀, rejected₀, chosen₁, rejected₁, …]</c> by an asynchronous builder
/// (which may attach cached reference-model scores). The partial remainder of an epoch is dropped.
/// </summary>
/// <typeparam name="TPair">The pair type.</typeparam>
public sealed class PreferenceDataset<TPair> : SupervisedDataset
{
    private readonly IReadOnlyList<TPair> _pairs;
    private readonly long _seed;
    private readonly Func<IReadOnlyList<TPair>, CancellationToken, Task<IReadOnlyList<Datum>>> _toDatums;
    private int[] _order;
    private int _epoch;

    /// <summary>Creates the dataset at epoch 0.</summary>
    /// <param name="pairs">The training pairs.</param>
    /// <param name="pairsPerBatch">P, pairs per batch.</param>
    /// <param name="seed">Shuffle seed (epoch e uses seed + e).</param>
    /// <param name="toDatums">Builds the 2P datums of P pairs, chosen then rejected for each.</param>
    public PreferenceDataset(IReadOnlyList<TPair> pairs, int pairsPerBatch, long seed, Func<IReadOnlyList<TPair>, CancellationToken, Task<IReadOnlyList<Datum>>> toDatums)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(toDatums);
        ArgumentOutOfRangeException.ThrowIfLessThan(pairsPerBatch, 1);
        _pairs = pairs;
        _seed = seed;
        _toDatums = toDatums;
        PairsPerBatch = pairsPerBatch;
        _order = SeededRandom.Permutation(pairs.Count, seed);
    }

    /// <summary>P, pairs per batch (a batch has 2P datums).</summary>
    public int PairsPerBatch { get; }

    /// <inheritdoc/>
    public override int Count => _pairs.Count / PairsPerBatch;

    /// <summary>The pairs of batch <paramref name="index"/> in the current epoch.</summary>
    /// <param name="index">In [0, <see cref="Count"/>).</param>
    /// <returns>P pairs.</returns>
    public IReadOnlyList<TPair> GetPairs(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Batch index must be in [0, {Count}).");
        }

        return [.. _order.Skip(index * PairsPerBatch).Take(PairsPerBatch).Select(i => _pairs[i])];
    }

    /// <inheritdoc/>
    public override void SetEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (epoch != _epoch)
        {
            _order = SeededRandom.Permutation(_pairs.Count, _seed + epoch);
            _epoch = epoch;
        }
    }

    /// <inheritdoc/>
    public override Task<IReadOnlyList<Datum>> GetBatchAsync(int index, CancellationToken cancellationToken = default) =>
        _toDatums(GetPairs(index), cancellationToken);

    /// <summary>Batch <paramref name="index"/>, waiting for the builder; prefer <see cref="GetBatchAsync"/>.</summary>
    /// <param name="index">In [0, <see cref="Count"/>).</param>
    /// <returns>2P datums.</returns>
    public override IReadOnlyList<Datum> GetBatch(int index) => GetBatchAsync(index).GetAwaiter().GetResult();
}
