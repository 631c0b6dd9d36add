using System.Runtime.Intrinsics;
using TinkerFlow.Local.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// Rotary position embedding (RoPE) in the Hugging Face "rotate half" layout, with optional linear or llama3 frequency
/// scaling. It holds no parameters or buffers (the inverse frequencies are recomputed on the input's device), so it
/// adds nothing to the state dict, matching checkpoints.
/// </summary>
internal sealed class RotaryEmbedding
{
    private readonly float[] _invFreq;
    private readonly long _tableLength;
    private readonly object _tableGate = new();
    private (Device Device, Tensor Cos, Tensor Sin)? _table;

    /// <summary>Precomputes the inverse frequencies for <paramref name="config"/>.</summary>
    public RotaryEmbedding(TransformerConfig config)
    {
        HeadDim = config.HeadDim;
        _tableLength = config.MaxPositionEmbeddings;
        using var scope = torch.NewDisposeScope();
        // Computed in float32 exactly as transformers does: 1 / theta^(arange(0, D, 2) / D).
        using var headDim = HeadDim.ToScalar();
        var exponents = torch.arange(Scalars.Zero, headDim, Scalars.Two, ScalarType.Int64).to(ScalarType.Float32).div(headDim); // (D/2)
        var invFreq = torch.pow(torch.tensor((float)config.RopeTheta), exponents).reciprocal();          // (D/2)
        if (config.RopeScaling is { } scaling)
        {
            using var factor = ((float)scaling.Factor).ToScalar();
            invFreq = scaling.Type switch
            {
                "linear" => invFreq.div(factor),
                "llama3" => Llama3(invFreq, scaling),
                _ => throw new NotSupportedException($"rope_scaling type '{scaling.Type}' is not supported."),
            };
        }
        _invFreq = invFreq.contiguous().data<float>().ToArray();
    }

    /// <summary>Per-head width D.</summary>
    public int HeadDim { get; }

    /// <summary>The inverse frequencies after scaling, one per rotated pair. [D/2]</summary>
    public IReadOnlyList<float> InverseFrequencies => _invFreq;

    /// <summary>
    /// Cosines and sines for the given positions. positions: [B, T] int64 → cos, sin: [B, 1, T, D] float32,
    /// shaped to broadcast over heads.
    /// </summary>
    public (Tensor Cos, Tensor Sin) Compute(Tensor positions)
    {
        using var scope = torch.NewDisposeScope();
        var invFreq = torch.tensor(_invFreq, device: positions.device);                        // (D/2)
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1) * invFreq;                 // (B, T, D/2)
        var emb = torch.cat([freqs, freqs], dim: -1).unsqueeze(1);                            // (B, 1, T, D)
        return (emb.cos().MoveToOuterDisposeScope(), emb.sin().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Cosines and sines for positions <paramref name="start"/> .. start + count − 1, the same for every row:
    /// cos, sin: [1, 1, T, D] float32 views of a table computed once per device (identical values to
    /// <see cref="Compute"/>), so a decode step builds no angles.
    /// </summary>
    public (Tensor Cos, Tensor Sin) Range(long start, long count, Device device)
    {
        if (start < 0 || start + count > _tableLength)
        {
            using var scope = torch.NewDisposeScope();
            var positions = Scalars.Arange(start, start + count, device).unsqueeze(0); // (1, T)
            var (c, s) = Compute(positions);
        return (c.MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
        }
        var (cos, sin) = Table(device);                                                          // (L, D)
        return (cos.narrow(0, start, count).unsqueeze(0).unsqueeze(0), sin.narrow(0, start, count).unsqueeze(0).unsqueeze(0));
    }

    /// <summary>
    /// Cosines and sines for given positions, each in [0, max_position_embeddings):
    /// positions: [B, T] int64 → cos, sin: [B, 1, T, D] float32, gathered from the per-device table.
    /// </summary>
    public (Tensor Cos, Tensor Sin) Gather(Tensor positions)
    {
        var (cos, sin) = Table(positions.device);                                               // (L, D)
        long batch = positions.shape[0], time = positions.shape[1];
        var flat = positions.reshape(-1);                                                       // (B·T)
        return (cos.index_select(0, flat).view(batch, 1, time, HeadDim), sin.index_select(0, flat).view(batch, 1, time, HeadDim));
    }

    private (Tensor Cos, Tensor Sin) Table(Device device)
    {
        lock (_tableGate)
        {
            if (_table is { } t && t.Device.type == device.type && t.Device.index == device.index)
            {
                return (t.Cos, t.Sin);
            }
            using var scope = torch.NewDisposeScope();
            var positions = Scalars.Arange(0, _tableLength, device).unsqueeze(0);  // (1, L)
            var (cos, sin) = Compute(positions);                                                 // (1, 1, L, D)
            var table = (device, cos.view(_tableLength, HeadDim).contiguous().DetachFromDisposeScope(),
                sin.view(_tableLength, HeadDim).contiguous().DetachFromDisposeScope());
            _table = table;
            return (table.Item2, table.Item3);
        }
    }

    /// <summary>Rotates x: [B, H, T, D] by the angles in cos/sin: [B, 1, T, D].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        if (TryApplySmall(x, cos, sin, out var small))
        {
            return small!;
        }

        using var scope = torch.NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);                                                       // (B, H, T, D/2)
        var x2 = x.narrow(-1, half, half);                                                    // (B, H, T, D/2)
        var rotated = torch.cat([-x2, x1], dim: -1);                                          // (B, H, T, D)
        return (x * cos).add(rotated * sin, Scalars.One).MoveToOuterDisposeScope();                           // (B, H, T, D)
    }

    /// <summary>Most elements of x that <see cref="TryApplySmall"/> takes (a decode step's heads).</summary>
    internal const long SmallElements = 64 * 1024;

    /// <summary>
    /// <see cref="Apply"/> in one pass for a decode step: float32, at most <see cref="SmallElements"/> elements, x
    /// contiguous, and no gradient recorded; libtorch's eight calls (two narrows, a negation, a cat, three products and
    /// a sum) cost more than the arithmetic at that size. Computes x·cos + rotate_half(x)·sin element by element, the
    /// same products and sum as <see cref="Apply"/>.
    /// </summary>
    private static unsafe bool TryApplySmall(Tensor x, Tensor cos, Tensor sin, out Tensor? result)
    {
        result = null;
        if (x.dim() != 4 || cos.dim() != 4 || sin.dim() != 4 || x.numel() == 0 || x.numel() > SmallElements
            || !TensorMemory.IsReadable(x) || !TensorMemory.IsReadable(cos) || !TensorMemory.IsReadable(sin)
            || !Vector256.IsHardwareAccelerated || !TensorMemory.RecordsNoGradient(x, cos, sin))
        {
            return false;
        }

        long batch = x.shape[0], heads = x.shape[1], time = x.shape[2], dim = x.shape[3];
        long angleBatch = cos.shape[0];
        if (dim % 2 != 0 || cos.shape[1] != 1 || cos.shape[2] != time || cos.shape[3] != dim || (angleBatch != 1 && angleBatch != batch)
            || !cos.shape.SequenceEqual(sin.shape))
        {
            return false;
        }

        var y = torch.empty(x.shape, ScalarType.Float32);
        float* input = TensorMemory.Floats(x), output = TensorMemory.Floats(y), cosines = TensorMemory.Floats(cos), sines = TensorMemory.Floats(sin);
        int half = (int)(dim / 2);
        for (long b = 0; b < batch; b++)
        {
            long angleRow = angleBatch == 1 ? 0 : b * time;
            for (long h = 0; h < heads; h++)
            {
                for (long t = 0; t < time; t++)
                {
                    long row = ((b * heads) + h) * time + t;
                    RotateRow(input + (row * dim), output + (row * dim), cosines + ((angleRow + t) * dim), sines + ((angleRow + t) * dim), half);
                }
            }
        }
        GC.KeepAlive(x);
        GC.KeepAlive(cos);
        GC.KeepAlive(sin);
        result = y;
        return true;
    }

    /// <summary>y = x·c + [−x₂, x₁]·s over one row of 2·half elements (y may be x).</summary>
    internal static unsafe void RotateRow(float* x, float* y, float* c, float* s, int half)
    {
        float* x2 = x + half;
        int i = 0;
        for (; i + Vector256<float>.Count <= half; i += Vector256<float>.Count)
        {
            var first = Vector256.Load(x + i);
            var second = Vector256.Load(x2 + i);
            ((first * Vector256.Load(c + i)) + (-second * Vector256.Load(s + i))).Store(y + i);
            ((second * Vector256.Load(c + half + i)) + (first * Vector256.Load(s + half + i))).Store(y + half + i);
        }
        for (; i < half; i++)
        {
            float first = x[i], second = x2[i];                                           // read before writing: y may be x
            y[i] = (first * c[i]) + (-second * s[i]);
            y[half + i] = (second * c[half + i]) + (first * s[half + i]);
        }
    }

    private static Tensor Llama3(Tensor invFreq, RopeScaling s)
    {
        double lowFreqWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        double highFreqWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        using Scalar twoPi = (2 * Math.PI).ToScalar(), factor = s.Factor.ToScalar(), lowWavelen = lowFreqWavelen.ToScalar(), highWavelen = highFreqWavelen.ToScalar();
        using Scalar originalMax = s.OriginalMaxPositionEmbeddings.ToScalar(), lowFactor = s.LowFreqFactor.ToScalar(), span = (s.HighFreqFactor - s.LowFreqFactor).ToScalar();
        var wavelen = invFreq.reciprocal().mul(twoPi);      // 2π / invFreq, as TorchSharp's scalar / tensor computes it
        // Long wavelengths (low frequencies) are divided by factor; short ones are kept.
        var scaled = torch.where(wavelen.gt(lowWavelen), invFreq.div(factor), invFreq);
        var smooth = wavelen.reciprocal().mul(originalMax).sub(lowFactor).div(span);
        var smoothed = smooth.negative().add(Scalars.One, Scalars.One).mul(scaled).div(factor).add(smooth * scaled, Scalars.One);
        var isMedium = wavelen.ge(highWavelen).logical_and(wavelen.le(lowWavelen));
        return torch.where(isMedium, smoothed, scaled);
    }
}
