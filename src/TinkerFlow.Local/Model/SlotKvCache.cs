using TinkerFlow.Local.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// The continuous batcher's KV cache: one preallocated block per layer with a slot per row, each row at its own length,
/// so rows of different requests (different prompt lengths, different progress) decode in one forward.
/// </summary>
/// <remarks>
/// <para>Rows occupy slots 0 .. <see cref="Rows"/> − 1. A decode step writes each row's new key and value at that
/// row's own position with one scatter per layer (no copy of the cache) and attends over the first S columns, S = the
/// longest row + 1; shorter rows mask the columns past their end. A new request's prompt is prefilled separately and
/// copied into fresh slots (<see cref="AddRows"/>); a finished row's slot is refilled by moving the last row into it
/// (<see cref="RemoveRow"/>), so the live rows stay a prefix and every step works on views.</para>
/// <para>Storage grows to the rows and columns asked for by <see cref="Reserve"/>, never shrinks while rows are live,
/// and is owned by the cache (detached from every dispose scope) until <see cref="Dispose"/>.</para>
/// </remarks>
internal sealed class SlotKvCache : IAttentionCache, IDisposable
{
    private readonly TransformerConfig _config;
    private readonly ScalarType _dtype;
    private readonly Device _device;
    private readonly Tensor?[] _keys;                                                        // (Rcap, Hkv, Scap, D)
    private readonly Tensor?[] _values;                                                      // (Rcap, Hkv, Scap, D)
    private readonly List<long> _lengths = [];
    private Tensor? _writeIndex;                                                             // (R, Hkv, 1, D)
    private long[]? _stepColumns;                                                            // (R) each row's length at BeginStep
    private long _span;
    private bool _disposed;

    /// <summary>An empty cache for <paramref name="config"/>'s layers, in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public SlotKvCache(TransformerConfig config, ScalarType dtype, Device device)
    {
        _config = config;
        _dtype = dtype;
        _device = device;
        _keys = new Tensor?[config.NumHiddenLayers];
        _values = new Tensor?[config.NumHiddenLayers];
    }

    /// <summary>Number of live rows (slots 0 .. Rows − 1).</summary>
    public int Rows => _lengths.Count;

    /// <summary>Allocated slots.</summary>
    public long RowCapacity => _keys[0]?.shape[0] ?? 0;

    /// <summary>Allocated columns per slot.</summary>
    public long ColumnCapacity => _keys[0]?.shape[2] ?? 0;

    /// <summary>Bytes of keys and values per cached token of one row, all layers together.</summary>
    public long BytesPerToken => BytesPerTokenOf(_config, _dtype);

    /// <summary>Bytes currently allocated.</summary>
    public long AllocatedBytes => RowCapacity * ColumnCapacity * BytesPerToken;

    /// <summary>Bytes of keys and values per cached token of one row for <paramref name="config"/>.</summary>
    public static long BytesPerTokenOf(TransformerConfig config, ScalarType dtype) =>
        2L * config.NumHiddenLayers * config.NumKeyValueHeads * config.HeadDim * (dtype == ScalarType.Float32 ? 4 : 2);

    /// <summary>Tokens cached for the row in <paramref name="slot"/>.</summary>
    public long Length(int slot) => _lengths[slot];

    /// <summary>
    /// Makes room for <paramref name="rows"/> slots of <paramref name="columns"/> tokens, copying the live rows when the
    /// storage grows.
    /// </summary>
    public void Reserve(long rows, long columns)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (rows <= RowCapacity && columns <= ColumnCapacity)
        {
            return;
        }
        long newRows = Math.Max(rows, RowCapacity);
        long newColumns = Math.Max(columns, ColumnCapacity);
        long used = _lengths.Count == 0 ? 0 : _lengths.Max();
        using var noGrad = torch.no_grad();
        for (int layer = 0; layer < _keys.Length; layer++)
        {
            _keys[layer] = Grow(_keys[layer], newRows, newColumns, used);
            _values[layer] = Grow(_values[layer], newRows, newColumns, used);
        }
    }

    /// <summary>
    /// Appends <paramref name="count"/> rows that each start as a copy of columns <paramref name="start"/> ..
    /// start + length − 1 of <paramref name="prompt"/>'s single row (one prompt of a packed batch-1 prefill).
    /// Call <see cref="Reserve"/> first.
    /// </summary>
    public void AddRows(KvCache prompt, long start, long length, int count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Rows + count > RowCapacity || length > ColumnCapacity)
        {
            throw new InvalidOperationException($"reserve {Rows + count} rows of {length} columns before adding rows.");
        }
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (int layer = 0; layer < _keys.Length; layer++)
        {
            var (k, v) = prompt.Layer(layer) ?? throw new InvalidOperationException("the prompt cache is empty.");   // (1, Hkv, ΣT, D)
            _keys[layer]!.narrow(0, Rows, count).narrow(2, 0, length).copy_(k.narrow(2, start, length).expand(count, -1, -1, -1));
            _values[layer]!.narrow(0, Rows, count).narrow(2, 0, length).copy_(v.narrow(2, start, length).expand(count, -1, -1, -1));
        }
        for (int i = 0; i < count; i++)
        {
            _lengths.Add(length);
        }
    }

    /// <summary>Frees <paramref name="slot"/> by moving the last row into it (the last slot's row now lives in <paramref name="slot"/>).</summary>
    public void RemoveRow(int slot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int last = Rows - 1;
        if (slot != last)
        {
            long length = _lengths[last];
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            for (int layer = 0; layer < _keys.Length; layer++)
            {
                _keys[layer]!.narrow(0, slot, 1).narrow(2, 0, length).copy_(_keys[layer]!.narrow(0, last, 1).narrow(2, 0, length));
                _values[layer]!.narrow(0, slot, 1).narrow(2, 0, length).copy_(_values[layer]!.narrow(0, last, 1).narrow(2, 0, length));
            }
            _lengths[slot] = length;
        }
        _lengths.RemoveAt(last);
    }

    /// <summary>
    /// Prepares a decode step of every live row: returns each row's position ([R] int64) and the mask
    /// ([R, 1, 1, S] bool). The mask is built even when all rows have the same length, so a row's attention takes the
    /// same kernel path whatever else shares the batch. The tensors join the caller's dispose scope.
    /// </summary>
    public (Tensor Positions, Tensor Mask) BeginStep()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int rows = Rows;
        long longest = _lengths.Max();
        Reserve(rows, longest + 1);
        _stepColumns = [.. _lengths];
        var positions = torch.tensor(_stepColumns, ScalarType.Int64, _device);                 // (R)
        _writeIndex?.Dispose();
        _writeIndex = positions.view(rows, 1, 1, 1)
            .expand(rows, _config.NumKeyValueHeads, 1, _config.HeadDim)
            .contiguous()
            .DetachFromDisposeScope();                                                       // (R, Hkv, 1, D)
        _span = longest + 1;
        var columns = Scalars.Arange(0, _span, _device).unsqueeze(0);             // (1, S)
        var mask = (columns <= positions.unsqueeze(1)).view(rows, 1, 1, _span);               // (R, 1, 1, S)
        return (positions, mask);
    }

    /// <summary>Ends the decode step: every live row is one token longer.</summary>
    public void EndStep()
    {
        for (int i = 0; i < _lengths.Count; i++)
        {
            _lengths[i]++;
        }
        _writeIndex?.Dispose();
        _writeIndex = null;
        _stepColumns = null;
    }

    /// <inheritdoc/>
    /// <remarks>Only inside <see cref="BeginStep"/> / <see cref="EndStep"/>: k, v are [R, Hkv, 1, D].</remarks>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var index = _writeIndex ?? throw new InvalidOperationException("call BeginStep before a decode forward.");
        int rows = Rows;
        if (k.shape[0] != rows || k.shape[2] != 1)
        {
            throw new ArgumentException($"a decode step appends [{rows}, Hkv, 1, D], got [{string.Join(", ", k.shape)}].", nameof(k));
        }
        var keys = _keys[layer]!.narrow(0, 0, rows);                                          // (R, Hkv, Scap, D)
        var values = _values[layer]!.narrow(0, 0, rows);                                      // (R, Hkv, Scap, D)
        using (torch.no_grad())
        {
            keys.scatter_(2, index, k);
            values.scatter_(2, index, v);
        }
        return (keys.narrow(2, 0, _span), values.narrow(2, 0, _span));                        // (R, Hkv, S, D)
    }

    /// <inheritdoc/>
    /// <remarks>Only inside <see cref="BeginStep"/> / <see cref="EndStep"/>, for every live row.</remarks>
    public long? InPlaceDecodeSpan(long rows, long kvHeads, long headDim)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _stepColumns is not null && rows == Rows && _dtype == ScalarType.Float32 && _device.type == DeviceType.CPU
            && kvHeads == _config.NumKeyValueHeads && headDim == _config.HeadDim
            ? _span
            : null;
    }

    /// <inheritdoc/>
    /// <remarks>Row r's new token goes to column <see cref="Length"/>(r); the storage was reserved by <see cref="BeginStep"/>.</remarks>
    public DecodeSlots AppendInPlace(int layer, long kvHeads, long headDim)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var columns = _stepColumns ?? throw new InvalidOperationException("call BeginStep before a decode forward.");
        return new DecodeSlots(_keys[layer]!, _values[layer]!, _span, 0, columns);
    }

    /// <summary>Frees the storage.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i]?.Dispose();
            _values[i]?.Dispose();
            _keys[i] = _values[i] = null;
        }
        _writeIndex?.Dispose();
        _lengths.Clear();
    }

    private Tensor Grow(Tensor? storage, long rows, long columns, long usedColumns)
    {
        // Zeros, not empty: masked columns get probability 0, and 0 × (uninitialised NaN) would still be NaN.
        var grown = torch.zeros([rows, _config.NumKeyValueHeads, columns, _config.HeadDim], _dtype, _device)
            .DetachFromDisposeScope();                                                       // (Rcap, Hkv, Scap, D)
        if (storage is not null)
        {
            long live = Rows;
            if (live > 0 && usedColumns > 0)
            {
                using var target = grown.narrow(0, 0, live).narrow(2, 0, usedColumns);
                using var source = storage.narrow(0, 0, live).narrow(2, 0, usedColumns);
                target.copy_(source);
            }
            storage.Dispose();
        }
        return grown;
    }
}
