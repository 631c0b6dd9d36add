using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Trainers;

/// <summary>
/// A <see cref="SupervisedDataset"/> read as one endless stream of datums from a loop state's cursor (epoch, batch,
/// item) on, epoch after epoch, remembering where each dataset batch started so the cursor after any number of trained
/// datums can be saved with a checkpoint, however the batcher grouped them. Each dataset batch may pass through a
/// preparation step first (<see cref="SupervisedTrainerOptions.PrepareBatch"/>).
/// </summary>
public sealed class DatasetCursor
{
    private readonly SupervisedDataset _dataset;
    private readonly LoopState _start;
    private readonly Func<IReadOnlyList<Datum>, CancellationToken, Task<IReadOnlyList<Datum>>>? _prepare;
    private readonly SortedList<long, (int Epoch, int Batch, int Skipped)> _batchStarts = [];
    private readonly Lock _gate = new();

    /// <summary>Creates the cursor.</summary>
    /// <param name="dataset">The dataset; only this cursor may move its epoch while the stream is read.</param>
    /// <param name="start">Where to start (a fresh run's <see cref="LoopState.Start"/> or a resumed one's).</param>
    /// <param name="prepareBatch">Applied to each dataset batch as it is read (see <see cref="SupervisedTrainerOptions.PrepareBatch"/>); null reads the batches as they are.</param>
    public DatasetCursor(SupervisedDataset dataset, LoopState start, Func<IReadOnlyList<Datum>, CancellationToken, Task<IReadOnlyList<Datum>>>? prepareBatch = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(start);
        if (dataset.Count < 1)
        {
            throw new ArgumentException("The dataset has no full batch; use more rows or a smaller batch size.", nameof(dataset));
        }

        _dataset = dataset;
        _start = start;
        _prepare = prepareBatch;
    }

    /// <summary>The datums from the start cursor on, endlessly (each epoch in its own order).</summary>
    /// <param name="cancellationToken">Stops the stream.</param>
    /// <returns>The stream.</returns>
    public async IAsyncEnumerable<Datum> ReadAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long position = 0;
        var (epoch, batch, item) = (_start.Epoch, _start.Batch, _start.Item);
        while (true)
        {
            _dataset.SetEpoch(epoch);
            for (; batch < _dataset.Count; batch++, item = 0)
            {
                lock (_gate)
                {
                    _batchStarts[position] = (epoch, batch, item);
                }

                foreach (var datum in (await ReadBatchAsync(epoch, batch, cancellationToken).ConfigureAwait(false)).Skip(item))
                {
                    position++;
                    yield return datum;
                }
            }

            epoch++;
            batch = 0;
        }
    }

    /// <summary>The cursor after <paramref name="datumsTrained"/> datums of this stream were trained.</summary>
    /// <param name="datumsTrained">Datums trained since the start cursor.</param>
    /// <param name="step">The global step count to record.</param>
    /// <param name="tokensTrained">Tokens trained since the start, added to the start's elapsed tokens.</param>
    /// <returns>The loop state to save; resuming from it continues with the next datum.</returns>
    public LoopState At(long datumsTrained, int step, long tokensTrained)
    {
        var (epoch, batch, item) = Locate(datumsTrained);
        return _start with { Epoch = epoch, Batch = batch, Item = item, Step = step, ElapsedTokens = _start.ElapsedTokens + tokensTrained };
    }

    /// <summary>(epoch, batch, item within batch) of datum number <paramref name="datumsTrained"/> of the stream.</summary>
    /// <param name="datumsTrained">A position already read.</param>
    /// <returns>Its place in the dataset.</returns>
    public (int Epoch, int Batch, int Item) Locate(long datumsTrained)
    {
        lock (_gate)
        {
            // The last batch that started at or before this position (the stream has always read past a trained datum).
            var keys = _batchStarts.Keys;
            int lo = 0, hi = keys.Count - 1, found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) / 2;
                if (keys[mid] <= datumsTrained)
                {
                    found = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            if (found < 0)
            {
                return (_start.Epoch, _start.Batch, _start.Item);
            }

            var (epoch, batch, skipped) = _batchStarts.Values[found];
            return (epoch, batch, skipped + (int)(datumsTrained - keys[found]));
        }
    }

    private async Task<IReadOnlyList<Datum>> ReadBatchAsync(int epoch, int batch, CancellationToken cancellationToken)
    {
        var data = await _dataset.GetBatchAsync(batch, cancellationToken).ConfigureAwait(false);
        if (_prepare is null)
        {
            return data;
        }

        var prepared = await _prepare(data, cancellationToken).ConfigureAwait(false);
        return prepared?.Count == data.Count
            ? prepared
            : throw new InvalidOperationException($"PrepareBatch returned {prepared?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"} datums for batch {batch} of epoch {epoch}, which has {data.Count}; it must return one prepared datum per datum, in order, so the data cursor stays exact.");
    }
}
