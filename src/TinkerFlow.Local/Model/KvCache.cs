using TinkerFlow.Local.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// Keys and values of every layer for a batch of sequences decoded together, so each new token costs one
/// position of compute. Create it with <see cref="CausalLm.CreateCache"/> and pass it to every forward call.
/// </summary>
/// <remarks>
/// <para>The cache owns its tensors: they are detached from every dispose scope when allocated and freed by
/// <see cref="Dispose"/>, so they outlive the per-step scopes of the sampler. Storage grows by doubling.</para>
/// <para>Columns are time steps shared by the whole batch; <see cref="ValidMask"/> (preallocated like the keys, so a
/// step appends without concatenating) records which columns hold a real token for each row, so a right-padded prompt batch can be prefilled at once and then decoded one token per step
/// (rows' positions advance only over their real tokens).</para>
/// <para>Inference only: values are stored without autograd history (gradients do not flow through the cache).</para>
/// </remarks>
internal sealed class KvCache : IAttentionCache, IDisposable
{
    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;
    private readonly long[] _lengths;
    private Tensor? _valid;                                                                  // (B, capacity) bool
    private long _validLength;
    private bool _disposed;

    /// <summary>An empty cache for <paramref name="numLayers"/> layers and <paramref name="batchSize"/> sequences.</summary>
    public KvCache(int numLayers, long batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numLayers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        NumLayers = numLayers;
        BatchSize = batchSize;
        _keys = new Tensor?[numLayers];
        _values = new Tensor?[numLayers];
        _lengths = new long[numLayers];
    }

    /// <summary>Number of layers.</summary>
    public int NumLayers { get; }

    /// <summary>Number of sequences (rows) in the batch.</summary>
    public long BatchSize { get; }

    /// <summary>Number of cached columns (time steps), padding included.</summary>
    public long Length => _validLength;

    /// <summary>True while every cached column of every row is a real token (no padding was ever appended).</summary>
    public bool AllValid { get; private set; } = true;

    /// <summary>
    /// Which cached columns hold a real token for each row. [B, Length] bool, or null while empty.
    /// A view of the cache's storage: disposing it frees the view only.
    /// </summary>
    public Tensor? ValidMask => _valid?.narrow(1, 0, _validLength);

    /// <summary>
    /// Everything cached for <paramref name="layer"/> so far. [B, Hkv, S, D] views of the cache's storage, or null
    /// while the layer is empty.
    /// </summary>
    public (Tensor Keys, Tensor Values)? Layer(int layer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _keys[layer] is { } k && _values[layer] is { } v
            ? (k.narrow(2, 0, _lengths[layer]), v.narrow(2, 0, _lengths[layer]))
            : null;
    }

    /// <summary>
    /// Appends one layer's new keys and values and returns everything cached for that layer.
    /// k, v: [B, Hkv, T, D] → [B, Hkv, S, D] views of the cache's storage (S = previous length + T).
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, NumLayers);
        if (k.shape[0] != BatchSize)
        {
            throw new ArgumentException($"the cache holds {BatchSize} sequences but the keys have {k.shape[0]} rows.", nameof(k));
        }

        long start = _lengths[layer];
        long count = k.shape[2];
        using (torch.no_grad())
        {
            _keys[layer] = Reserve(_keys[layer], k.shape[0], k.shape[1], k.shape[3], k.dtype, k.device, start, start + count);
            _values[layer] = Reserve(_values[layer], v.shape[0], v.shape[1], v.shape[3], v.dtype, v.device, start, start + count);
            _keys[layer]!.narrow(2, start, count).copy_(k);
            _values[layer]!.narrow(2, start, count).copy_(v);
        }
        _lengths[layer] = start + count;
        return (_keys[layer]!.narrow(2, 0, start + count), _values[layer]!.narrow(2, 0, start + count));
    }

    /// <inheritdoc/>
    public long? InPlaceDecodeSpan(long rows, long kvHeads, long headDim)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (rows != BatchSize)
        {
            return null;
        }
        for (int layer = 0; layer < NumLayers; layer++)
        {
            if (_lengths[layer] != _lengths[0])
            {
                return null;                                                                 // a forward stopped part-way
            }
            foreach (var storage in (ReadOnlySpan<Tensor?>)[_keys[layer], _values[layer]])
            {
                if (storage is not null && (!TensorMemory.IsReadable(storage) || storage.shape[1] != kvHeads || storage.shape[3] != headDim))
                {
                    return null;
                }
            }
        }
        return _lengths[0] + 1;
    }

    /// <inheritdoc/>
    /// <remarks>Every row's new token goes to the same column, the layer's length before the call.</remarks>
    public DecodeSlots AppendInPlace(int layer, long kvHeads, long headDim)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, NumLayers);
        long start = _lengths[layer];
        using (torch.no_grad())
        {
            _keys[layer] = Reserve(_keys[layer], BatchSize, kvHeads, headDim, ScalarType.Float32, torch.CPU, start, start + 1);
            _values[layer] = Reserve(_values[layer], BatchSize, kvHeads, headDim, ScalarType.Float32, torch.CPU, start, start + 1);
        }
        _lengths[layer] = start + 1;
        return new DecodeSlots(_keys[layer]!, _values[layer]!, start + 1, start, null);
    }

    /// <summary>Records which of the just-appended columns are real tokens. newValid: [B, T] bool.</summary>
    public void AppendValid(Tensor newValid)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var scope = torch.NewDisposeScope();
        var valid = newValid.to(ScalarType.Bool);                                           // (B, T)
        long count = valid.shape[1];
        ReserveValid(count, valid.device);
        _valid!.narrow(1, _validLength, count).copy_(valid);
        _validLength += count;
        if (AllValid && count > 0 && !valid.all().item<bool>())
        {
            AllValid = false;
        }
    }

    /// <summary>Records that the <paramref name="count"/> just-appended columns are real tokens in every row (no host sync).</summary>
    public void AppendAllValid(long count, Device device)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ReserveValid(count, device);
        using (var columns = _valid!.narrow(1, _validLength, count))
        {
            columns.fill_(Scalars.True);
        }
        _validLength += count;
    }

    /// <summary>Frees every cached tensor.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        for (int i = 0; i < NumLayers; i++)
        {
            _keys[i]?.Dispose();
            _values[i]?.Dispose();
            _keys[i] = _values[i] = null;
        }
        _valid?.Dispose();
        _valid = null;
    }

    private void ReserveValid(long count, Device device)
    {
        long capacity = _valid?.shape[1] ?? 0;
        if (_validLength + count <= capacity)
        {
            return;
        }
        long newCapacity = Math.Max(_validLength + count, Math.Max(16, capacity * 2));
        var grown = torch.zeros([BatchSize, newCapacity], ScalarType.Bool, device).DetachFromDisposeScope(); // (B, cap)
        if (_valid is not null)
        {
            using var target = grown.narrow(1, 0, _validLength);
            using var old = _valid.narrow(1, 0, _validLength);
            target.copy_(old);
            _valid.Dispose();
        }
        _valid = grown;
    }

    /// <summary>Storage of at least <paramref name="needed"/> columns (doubling), keeping the first <paramref name="used"/>.</summary>
    private static Tensor Reserve(Tensor? storage, long batch, long heads, long dim, ScalarType dtype, Device device, long used, long needed)
    {
        long capacity = storage?.shape[2] ?? 0;
        if (needed <= capacity)
        {
            return storage!;
        }
        long newCapacity = Math.Max(needed, Math.Max(16, capacity * 2));
        var grown = torch.empty([batch, heads, newCapacity, dim], dtype, device)
            .DetachFromDisposeScope();                                                     // (B, Hkv, cap, D)
        if (storage is not null)
        {
            using var old = storage.narrow(2, 0, used);
            using var target = grown.narrow(2, 0, used);
            target.copy_(old);
            storage.Dispose();
        }
        return grown;
    }
}
