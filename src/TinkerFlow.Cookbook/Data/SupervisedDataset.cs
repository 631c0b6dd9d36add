using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Data;

/// <summary>
/// Batches of supervised datums addressed by index (the cookbook's <c>SupervisedDataset</c>): <see cref="GetBatch"/>,
/// <see cref="Count"/> batches per epoch, and <see cref="SetEpoch"/> to reshuffle.
/// </summary>
public abstract class SupervisedDataset
{
    /// <summary>Number of batches per epoch.</summary>
    public abstract int Count { get; }

    /// <summary>Returns batch <paramref name="index"/> of the current epoch.</summary>
    /// <param name="index">In [0, <see cref="Count"/>).</param>
    /// <returns>The datums.</returns>
    public abstract IReadOnlyList<Datum> GetBatch(int index);

    /// <summary>Returns batch <paramref name="index"/> of the current epoch, for datasets whose datums need asynchronous work (e.g. a reference model's scores); the default wraps <see cref="GetBatch"/>.</summary>
    /// <param name="index">In [0, <see cref="Count"/>).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The datums.</returns>
    public virtual Task<IReadOnlyList<Datum>> GetBatchAsync(int index, CancellationToken cancellationToken = default) => Task.FromResult(GetBatch(index));

    /// <summary>Switches to an epoch's order; the default does nothing.</summary>
    /// <param name="epoch">The epoch, at least 0.</param>
    public virtual void SetEpoch(int epoch)
    {
    }
}
