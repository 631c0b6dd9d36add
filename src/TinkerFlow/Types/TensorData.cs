using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// A tensor on the wire: <c>{"data":[…row-major…],"dtype":"int64"|"float32","shape"?:[…],
/// "sparse_crow_indices"?:[…],"sparse_col_indices"?:[…]}</c>. Values are kept in a typed array
/// (<see cref="long"/> or <see cref="float"/>); float32 values are written widened to double exactly as Python does.
/// Sparse CSR form (2-D only): <c>data</c> holds the non-zero values, <c>shape</c> the dense shape.
/// Immutable; create with <see cref="FromInt64(ReadOnlySpan{long}, IReadOnlyList{long}?)"/>,
/// <see cref="FromFloat32(ReadOnlySpan{float}, IReadOnlyList{long}?)"/> or <see cref="FromSparseCsr"/>.
/// </summary>
[JsonConverter(typeof(TensorDataJsonConverter))]
public sealed class TensorData : IEquatable<TensorData>
{
    private readonly long[]? _int64;
    private readonly float[]? _float32;
    private readonly long[]? _shape;
    private readonly long[]? _crow;
    private readonly long[]? _col;

    private TensorData(long[]? int64, float[]? float32, long[]? shape, long[]? crow, long[]? col)
    {
        _int64 = int64;
        _float32 = float32;
        _shape = shape;
        _crow = crow;
        _col = col;
        Validate();
    }

    /// <summary>Element type (<c>dtype</c>).</summary>
    public TensorDType Dtype => _int64 is not null ? TensorDType.Int64 : TensorDType.Float32;

    /// <summary>Dense shape (<c>shape</c>); null only for a hand-built tensor without shape (then 1-D).</summary>
    public IReadOnlyList<long>? Shape => _shape;

    /// <summary>CSR row pointers (<c>sparse_crow_indices</c>, rows + 1 entries), or null for a dense tensor.</summary>
    public IReadOnlyList<long>? SparseCrowIndices => _crow;

    /// <summary>CSR column index of each stored value (<c>sparse_col_indices</c>), or null for a dense tensor.</summary>
    public IReadOnlyList<long>? SparseColIndices => _col;

    /// <summary>True when the tensor is in sparse CSR form.</summary>
    public bool IsSparse => _crow is not null;

    /// <summary>Number of values in <c>data</c> as sent on the wire (the non-zero count for a sparse tensor).</summary>
    public int ElementCount => _int64?.Length ?? _float32!.Length;

    /// <summary>Number of elements of the dense tensor (product of <see cref="Shape"/>, or <see cref="ElementCount"/>
    /// when there is no shape).</summary>
    public long DenseElementCount => _shape is null ? ElementCount : Product(_shape);

    /// <summary>A dense int64 tensor holding a copy of <paramref name="data"/>.</summary>
    /// <param name="data">Row-major values.</param>
    /// <param name="shape">Dense shape; default <c>[data.Length]</c>.</param>
    /// <exception cref="ArgumentException">When the shape does not match the data length.</exception>
    public static TensorData FromInt64(ReadOnlySpan<long> data, IReadOnlyList<long>? shape = null) =>
        new(data.ToArray(), null, shape?.ToArray() ?? [data.Length], null, null);

    /// <summary>A dense int64 tensor from 32-bit values (e.g. token ids).</summary>
    /// <param name="data">Row-major values.</param>
    /// <param name="shape">Dense shape; default <c>[data.Length]</c>.</param>
    public static TensorData FromInt64(ReadOnlySpan<int> data, IReadOnlyList<long>? shape = null)
    {
        var values = new long[data.Length];
        for (var i = 0; i < data.Length; i++)
        {
            values[i] = data[i];
        }

        return new(values, null, shape?.ToArray() ?? [data.Length], null, null);
    }

    /// <summary>A dense float32 tensor holding a copy of <paramref name="data"/>.</summary>
    /// <param name="data">Row-major values.</param>
    /// <param name="shape">Dense shape; default <c>[data.Length]</c>.</param>
    /// <exception cref="ArgumentException">When the shape does not match the data length.</exception>
    public static TensorData FromFloat32(ReadOnlySpan<float> data, IReadOnlyList<long>? shape = null) =>
        new(null, data.ToArray(), shape?.ToArray() ?? [data.Length], null, null);

    /// <summary>A dense float32 tensor from doubles (each narrowed to float).</summary>
    /// <param name="data">Row-major values.</param>
    /// <param name="shape">Dense shape; default <c>[data.Length]</c>.</param>
    public static TensorData FromFloat32(ReadOnlySpan<double> data, IReadOnlyList<long>? shape = null)
    {
        var values = new float[data.Length];
        for (var i = 0; i < data.Length; i++)
        {
            values[i] = (float)data[i];
        }

        return new(null, values, shape?.ToArray() ?? [data.Length], null, null);
    }

    /// <summary>A 2-D sparse CSR tensor.</summary>
    /// <param name="dtype">Element type; <paramref name="values"/> are converted to it.</param>
    /// <param name="values">Non-zero values in row order.</param>
    /// <param name="crowIndices">Row pointers, <c>rows + 1</c> entries, starting at 0 and ending at the value count.</param>
    /// <param name="colIndices">Column of each value.</param>
    /// <param name="shape">Dense shape <c>[rows, cols]</c>.</param>
    public static TensorData FromSparseCsr(
        TensorDType dtype, ReadOnlySpan<double> values, ReadOnlySpan<long> crowIndices, ReadOnlySpan<long> colIndices, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long[]? ints = null;
        float[]? floats = null;
        if (dtype == TensorDType.Int64)
        {
            ints = new long[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                ints[i] = checked((long)values[i]);
            }
        }
        else
        {
            floats = new float[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                floats[i] = (float)values[i];
            }
        }

        return new(ints, floats, [.. shape], crowIndices.ToArray(), colIndices.ToArray());
    }

    /// <summary>Builds a tensor from already-owned arrays without copying (used by the JSON converter).</summary>
    internal static TensorData Create(long[]? int64, float[]? float32, long[]? shape, long[]? crow, long[]? col) =>
        new(int64, float32, shape, crow, col);

    /// <summary>Raw int64 values as stored (non-zeros only when sparse).</summary>
    /// <exception cref="InvalidOperationException">When <see cref="Dtype"/> is not int64.</exception>
    public ReadOnlySpan<long> AsInt64Span() =>
        _int64 ?? throw new InvalidOperationException("This TensorData has dtype float32; use AsFloat32Span() or ToInt64Array().");

    /// <summary>Raw float32 values as stored (non-zeros only when sparse).</summary>
    /// <exception cref="InvalidOperationException">When <see cref="Dtype"/> is not float32.</exception>
    public ReadOnlySpan<float> AsFloat32Span() =>
        _float32 ?? throw new InvalidOperationException("This TensorData has dtype int64; use AsInt64Span() or ToFloat32Array().");

    /// <summary>Dense row-major values as int64 (a new array; float32 values must be whole numbers).</summary>
    /// <exception cref="InvalidOperationException">When a float32 value is not a whole number.</exception>
    public long[] ToInt64Array()
    {
        var dense = ToDense();
        if (dense._int64 is not null)
        {
            return (long[])dense._int64.Clone();
        }

        var result = new long[dense._float32!.Length];
        for (var i = 0; i < result.Length; i++)
        {
            var f = dense._float32[i];
            if (f != MathF.Floor(f) || float.IsInfinity(f))
            {
                throw new InvalidOperationException($"ToInt64Array(): float32 element {i} ({f}) is not a whole number.");
            }

            result[i] = (long)f;
        }

        return result;
    }

    /// <summary>Dense row-major values as float32 (a new array; int64 values are converted).</summary>
    public float[] ToFloat32Array()
    {
        var dense = ToDense();
        if (dense._float32 is not null)
        {
            return (float[])dense._float32.Clone();
        }

        var result = new float[dense._int64!.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = dense._int64[i];
        }

        return result;
    }

    /// <summary>This tensor in dense form (itself when already dense); sparse CSR is expanded with zeros.</summary>
    public TensorData ToDense()
    {
        if (!IsSparse)
        {
            return this;
        }

        var rows = (int)_shape![0];
        var cols = (int)_shape[1];
        var size = checked(rows * cols);
        long[]? ints = _int64 is null ? null : new long[size];
        float[]? floats = _float32 is null ? null : new float[size];
        for (var r = 0; r < rows; r++)
        {
            for (var k = _crow![r]; k < _crow[r + 1]; k++)
            {
                var target = (r * cols) + (int)_col![k];
                if (ints is not null)
                {
                    ints[target] = _int64![k];
                }
                else
                {
                    floats![target] = _float32![k];
                }
            }
        }

        return new TensorData(ints, floats, [.. _shape], null, null);
    }

    /// <summary>Value equality: same dtype, shape, values and sparse indices.</summary>
    /// <param name="other">The tensor to compare with.</param>
    public bool Equals(TensorData? other) =>
        other is not null
        && Dtype == other.Dtype
        && SeqEq(_shape, other._shape)
        && SeqEq(_crow, other._crow)
        && SeqEq(_col, other._col)
        && (_int64 is not null ? _int64.AsSpan().SequenceEqual(other._int64) : _float32.AsSpan().SequenceEqual(other._float32));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as TensorData);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Dtype, ElementCount, _shape?.Length ?? -1, IsSparse);

    /// <inheritdoc/>
    public override string ToString() =>
        $"TensorData({(Dtype == TensorDType.Int64 ? "int64" : "float32")}, shape=[{string.Join(", ", _shape ?? [])}], {ElementCount} values{(IsSparse ? ", sparse" : "")})";

    private static bool SeqEq(long[]? a, long[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    private static long Product(long[] shape)
    {
        long p = 1;
        foreach (var d in shape)
        {
            p = checked(p * d);
        }

        return p;
    }

    private void Validate()
    {
        if ((_int64 is null) == (_float32 is null))
        {
            throw new ArgumentException("tensor_data.data must hold exactly one typed array.");
        }

        if (_shape is not null)
        {
            foreach (var d in _shape)
            {
                if (d < 0)
                {
                    throw new ArgumentException($"tensor_data.shape must not contain negative dimensions, got [{string.Join(", ", _shape)}].");
                }
            }
        }

        if ((_crow is null) != (_col is null))
        {
            throw new ArgumentException("tensor_data.sparse_crow_indices and tensor_data.sparse_col_indices must be given together.");
        }

        if (_crow is null)
        {
            if (_shape is not null && Product(_shape) != ElementCount)
            {
                throw new ArgumentException(
                    $"tensor_data.data has {ElementCount} elements but tensor_data.shape [{string.Join(", ", _shape)}] needs {Product(_shape)}.");
            }

            return;
        }

        ValidateSparse();
    }

    private void ValidateSparse()
    {
        if (_shape is null || _shape.Length != 2)
        {
            throw new ArgumentException("tensor_data.shape must be given and 2-D for a sparse CSR tensor.");
        }

        if (_crow!.Length != _shape[0] + 1)
        {
            throw new ArgumentException(
                $"tensor_data.sparse_crow_indices must have rows + 1 = {_shape[0] + 1} entries, got {_crow.Length}.");
        }

        if (_col!.Length != ElementCount)
        {
            throw new ArgumentException(
                $"tensor_data.sparse_col_indices must have one entry per value ({ElementCount}), got {_col.Length}.");
        }

        if (_crow[0] != 0 || _crow[^1] != ElementCount)
        {
            throw new ArgumentException(
                $"tensor_data.sparse_crow_indices must start at 0 and end at the value count {ElementCount}, got {_crow[0]}..{_crow[^1]}.");
        }

        for (var i = 1; i < _crow.Length; i++)
        {
            if (_crow[i] < _crow[i - 1])
            {
                throw new ArgumentException("tensor_data.sparse_crow_indices must be non-decreasing.");
            }
        }

        foreach (var c in _col)
        {
            if (c < 0 || c >= _shape[1])
            {
                throw new ArgumentException($"tensor_data.sparse_col_indices entry {c} is outside [0, {_shape[1]}).");
            }
        }
    }
}
