using TinkerFlow.Local.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>One pre-norm decoder block: <c>h = x + attn(norm(x)); out = h + mlp(norm(h))</c>.</summary>
internal sealed class DecoderLayer : nn.Module<Tensor, AttentionContext, Tensor>
{
    /// <summary>Norm before attention. [C]</summary>
    public RmsNorm input_layernorm;

    /// <summary>Self-attention.</summary>
    public Attention self_attn;

    /// <summary>Norm before the MLP. [C]</summary>
    public RmsNorm post_attention_layernorm;

    /// <summary>SwiGLU MLP.</summary>
    public Mlp mlp;

    /// <summary>Builds layer <paramref name="layerIndex"/> for <paramref name="config"/>.</summary>
    public DecoderLayer(TransformerConfig config, int layerIndex) : base(nameof(DecoderLayer))
    {
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        self_attn = new Attention(config, layerIndex);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        mlp = new Mlp(config);
        RegisterComponents();
    }

    /// <summary>x: [B, T, C] float32 → [B, T, C] float32.</summary>
    public override Tensor forward(Tensor x, AttentionContext context)
    {
        using var scope = torch.NewDisposeScope();
        var h = x.add(self_attn.forward(input_layernorm.forward(x), context), Scalars.One);                     // (B, T, C)
        var output = h.add(mlp.forward(post_attention_layernorm.forward(h), context.Adapter, context.Routing), Scalars.One);     // (B, T, C)
        return output.MoveToOuterDisposeScope();
    }
}
