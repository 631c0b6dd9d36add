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
    private readonly double _eps;

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
        using var scope = torch.NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);                                   // (..., C)
        using var eps = _eps.ToScalar();
        var variance = x32.pow(Scalars.Two).mean([-1], keepdim: true);        // (..., 1)
        var normed = (x32 * torch.rsqrt(variance.add(eps, Scalars.One))).to(x.dtype); // (..., C)
        return (weight * normed).MoveToOuterDisposeScope();                   // (..., C)
    }
}
