namespace TinkerFlow.Cookbook.Data;

/// <summary>
/// Maps (epoch, batch index) to row indices, the way the cookbook's Hugging Face-backed dataset does: batch i of an
/// epoch holds rows <c>[i·B, (i+1)·B)</c> of that epoch's order, each epoch's order is a shuffle seeded with the
/// epoch number, and the last partial batch is dropped. The order is a pure function of (epoch, index), so a resumed
/// run that calls <see cref="SetEpoch"/> and continues from its saved batch index sees exactly the same data.
/// </summary>
public sealed class EpochBatcher
{
    private readonly int _rowCount;
    private readonly bool _shuffle;
    private int[] _order;

    /// <summary>Creates the batcher, positioned at epoch 0.</summary>
    /// <param name="rowCount">Number of rows.</param>
    /// <param name="batchSize">Rows per batch, at least 1.</param>
    /// <param name="shuffle">Shuffle each epoch with seed = epoch; false keeps file order in every epoch.</param>
    public EpochBatcher(int rowCount, int batchSize, bool shuffle = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _rowCount = rowCount;
        _shuffle = shuffle;
        BatchSize = batchSize;
        _order = OrderFor(0);
    }

    /// <summary>Rows per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Number of full batches per epoch (the partial remainder is dropped).</summary>
    public int Count => _rowCount / BatchSize;

    /// <summary>The current epoch.</summary>
    public int Epoch { get; private set; }

    /// <summary>Switches to an epoch's order (the cookbook's <c>set_epoch(seed=epoch)</c>).</summary>
    /// <param name="epoch">The epoch, at least 0.</param>
    public void SetEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (epoch != Epoch)
        {
            _order = OrderFor(epoch);
            Epoch = epoch;
        }
    }

    /// <summary>The row indices of batch <paramref name="index"/> in the current epoch.</summary>
    /// <param name="index">The batch index, in [0, <see cref="Count"/>).</param>
    /// <returns><see cref="BatchSize"/> row indices.</returns>
    public int[] GetRowIndices(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Batch index must be in [0, {Count}); the dataset has {_rowCount} rows in batches of {BatchSize}.");
        }

        return _order.AsSpan(index * BatchSize, BatchSize).ToArray();
    }

    private int[] OrderFor(int epoch) =>
        _shuffle ? SeededRandom.Permutation(_rowCount, epoch) : Enumerable.Range(0, _rowCount).ToArray();
}
