using System.Runtime.Intrinsics;
using TinkerFlow.Local.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// Root-mean-square layer norm, <c>weight * x / sqrt(mean(x²) + eps)</c>, computed in float32 and cast back
/// to the input dtype before the weight is applied (as Hugging Face's Qwen3RMSNorm/LlamaRMSNorm do).
/// TorchSharp has no built-in RMSNorm.
/// </summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    /// <summary>Most elements <see cref="TryNormalizeSmall"/> takes (a decode step's rows); larger inputs use libtorch's threads.</summary>
    internal const long SmallElements = 64 * 1024;

    private readonly double _eps;

    /// <summary>The epsilon added to the mean square.</summary>
    public double Eps => _eps;

    /// <summary>Per-channel gain, initialised to ones. [dim]</summary>
    public Parameter weight;

    /// <summary>Creates a norm over the last dimension of size <paramref name="dim"/>.</summary>
    public RmsNorm(long dim, double eps) : base(nameof(RmsNorm))
    {
        _eps = eps;
        weight = new Parameter(torch.ones(dim));
        RegisterComponents();
    }

    /// <summary>Normalises over the last dimension. x: [..., dim] → same shape and dtype.</summary>
    public override Tensor forward(Tensor x)
    {
        if (TryNormalizeSmall(x, out var small))
        {
            return small!;
        }

        using var scope = torch.NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);                                   // (..., C)
        using var eps = _eps.ToScalar();
        var variance = x32.pow(Scalars.Two).mean([-1], keepdim: true);        // (..., 1)
        var normed = (x32 * torch.rsqrt(variance.add(eps, Scalars.One))).to(x.dtype); // (..., C)
        return (weight * normed).MoveToOuterDisposeScope();                   // (..., C)
    }

    /// <summary>
    /// The same norm in one pass over each row, for float32 inputs of at most <see cref="SmallElements"/> elements when no
    /// gradient is recorded: a decode step normalises a few rows (per layer twice, plus every head's q and k in Qwen3),
    /// where libtorch's eight calls per norm cost more than the arithmetic. Sums of squares are taken in another order
    /// than libtorch's, so results differ by float32 rounding.
    /// </summary>
    private unsafe bool TryNormalizeSmall(Tensor x, out Tensor? result)
    {
        result = null;
        long count = x.numel();
        if (count == 0 || count > SmallElements || !TensorMemory.IsFloat32Cpu(x) || !TensorMemory.IsReadable(weight)
            || !Vector256.IsHardwareAccelerated || !TensorMemory.RecordsNoGradient(x, weight))
        {
            return false;
        }

        int dim = (int)x.shape[^1];
        if (weight.numel() != dim)
        {
            return false;
        }

        using var source = x.is_contiguous() ? x.alias() : x.contiguous();
        var y = torch.empty(x.shape, ScalarType.Float32);
        float* input = TensorMemory.Floats(source), output = TensorMemory.Floats(y), gain = TensorMemory.Floats(weight);
        float eps = (float)_eps;
        for (long row = 0; row < count / dim; row++)
        {
            NormalizeRow(input + (row * dim), output + (row * dim), gain, dim, eps);
        }
        GC.KeepAlive(weight);
        result = y;
        return true;
    }

    /// <summary>y = x / rms(x) · gain over one row (y may be x).</summary>
    internal static unsafe void NormalizeRow(float* x, float* y, float* gain, int dim, float eps)
    {
        int vectorEnd = dim - (dim % Vector256<float>.Count);
        var squares = Vector256<float>.Zero;
        for (int i = 0; i < vectorEnd; i += Vector256<float>.Count)
        {
            var v = Vector256.Load(x + i);
            squares += v * v;
        }
        float sum = Vector256.Sum(squares);
        for (int i = vectorEnd; i < dim; i++)
        {
            sum += x[i] * x[i];
        }

        float inverse = 1f / MathF.Sqrt((sum / dim) + eps);
        var scale = Vector256.Create(inverse);
        for (int i = 0; i < vectorEnd; i += Vector256<float>.Count)
        {
            (Vector256.Load(x + i) * scale * Vector256.Load(gain + i)).Store(y + i);     // (x · 1/rms) · w, as forward
        }
        for (int i = vectorEnd; i < dim; i++)
        {
            y[i] = x[i] * inverse * gain[i];
        }
    }
}
