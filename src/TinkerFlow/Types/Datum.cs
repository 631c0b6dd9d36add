using System.Collections;

namespace TinkerFlow.Types;

/// <summary>
/// One training example: <c>{"model_input":ModelInput,"loss_fn_inputs":{name:TensorData}}</c>. Every loss tensor has
/// shape (N,) with N = model input length; position i of the input predicts <c>target_tokens[i]</c>.
/// </summary>
public sealed record Datum
{
    private readonly ModelInput _modelInput = ModelInput.Empty;
    private readonly IReadOnlyDictionary<string, TensorData> _lossFnInputs = new Dictionary<string, TensorData>();

    /// <summary>The input tokens (<c>model_input</c>).</summary>
    public required ModelInput ModelInput
    {
        get => _modelInput;
        init => _modelInput = WireValidation.NotNull(value, "datum.model_input");
    }

    /// <summary>Named loss inputs (<c>loss_fn_inputs</c>), e.g. <c>target_tokens</c> [N] int64, <c>weights</c> [N] float32.</summary>
    public required IReadOnlyDictionary<string, TensorData> LossFnInputs
    {
        get => _lossFnInputs;
        init
        {
            WireValidation.NotNull(value, "datum.loss_fn_inputs");
            foreach (var (key, tensor) in value)
            {
                if (tensor is null)
                {
                    throw new ArgumentException($"datum.loss_fn_inputs['{key}'] must not be null.");
                }
            }

            _lossFnInputs = new Dictionary<string, TensorData>(value);
        }
    }

    /// <summary>
    /// Builds a datum, converting plain arrays and lists by key name the way the SDK does: <c>target_tokens</c> →
    /// int64; <c>weights</c>, <c>advantages</c>, <c>logprobs</c>, <c>clip_low_threshold</c>,
    /// <c>clip_high_threshold</c> → float32. Accepted values: <see cref="TensorData"/>, arrays of any rank of
    /// int/long/float/double (a multi-dimensional array keeps its shape), and sequences of those numbers.
    /// Other keys must already be <see cref="TensorData"/>.
    /// </summary>
    /// <param name="modelInput">The input tokens.</param>
    /// <param name="lossFnInputs">Loss inputs by name.</param>
    /// <exception cref="ArgumentException">A value cannot be converted; the message names the key.</exception>
    public static Datum Create(ModelInput modelInput, IReadOnlyDictionary<string, object> lossFnInputs)
    {
        ArgumentNullException.ThrowIfNull(modelInput);
        ArgumentNullException.ThrowIfNull(lossFnInputs);
        var converted = new Dictionary<string, TensorData>(lossFnInputs.Count);
        foreach (var (key, value) in lossFnInputs)
        {
            converted[key] = ToTensor(key, value);
        }

        return new Datum { ModelInput = modelInput, LossFnInputs = converted };
    }

    /// <summary>The dtype the SDK gives a plain list under <paramref name="key"/>, or null when it has none.</summary>
    /// <param name="key">A loss input name.</param>
    public static TensorDType? DefaultDtypeFor(string key) => key switch
    {
        "target_tokens" => TensorDType.Int64,
        "weights" or "advantages" or "logprobs" or "clip_low_threshold" or "clip_high_threshold" => TensorDType.Float32,
        _ => null,
    };

    private static TensorData ToTensor(string key, object? value)
    {
        if (value is TensorData tensor)
        {
            return tensor;
        }

        if (value is null)
        {
            throw new ArgumentException($"loss_fn_inputs['{key}'] must not be null.");
        }

        var dtype = DefaultDtypeFor(key)
            ?? throw new ArgumentException(
                $"loss_fn_inputs['{key}'] is a {value.GetType().Name}, but only target_tokens, weights, advantages, logprobs, clip_low_threshold and clip_high_threshold are converted automatically; pass a TensorData (TensorData.FromInt64 / FromFloat32) for '{key}'.");

        long[] shape;
        IEnumerable items;
        if (value is Array array && array.Rank > 1)
        {
            shape = new long[array.Rank];
            for (var d = 0; d < array.Rank; d++)
            {
                shape[d] = array.GetLength(d);
            }

            items = array; // enumerates row-major
        }
        else if (value is IEnumerable enumerable and not string)
        {
            items = enumerable;
            shape = [];
        }
        else
        {
            throw new ArgumentException(
                $"loss_fn_inputs['{key}'] must be a TensorData, an array or a list of numbers, got {value.GetType().Name}.");
        }

        var numbers = new List<double>();
        var longs = new List<long>();
        foreach (var item in items)
        {
            switch (item)
            {
                case int i: longs.Add(i); numbers.Add(i); break;
                case long l: longs.Add(l); numbers.Add(l); break;
                case short s: longs.Add(s); numbers.Add(s); break;
                case float f: numbers.Add(f); longs.Add(WholeOrThrow(key, f, dtype)); break;
                case double x: numbers.Add(x); longs.Add(WholeOrThrow(key, x, dtype)); break;
                default:
                    throw new ArgumentException(
                        $"loss_fn_inputs['{key}'] must contain numbers (int, long, float, double), got {item?.GetType().Name ?? "null"}.");
            }
        }

        IReadOnlyList<long> finalShape = shape.Length == 0 ? [numbers.Count] : shape;
        return dtype == TensorDType.Int64
            ? TensorData.FromInt64(longs.ToArray(), finalShape)
            : TensorData.FromFloat32(numbers.ToArray(), finalShape);
    }

    private static long WholeOrThrow(string key, double value, TensorDType dtype)
    {
        if (dtype == TensorDType.Float32)
        {
            return 0; // unused
        }

        return value == Math.Floor(value) && !double.IsInfinity(value)
            ? (long)value
            : throw new ArgumentException($"loss_fn_inputs['{key}'] is int64, but holds the non-integer {WireValidation.Format(value)}.");
    }
}
