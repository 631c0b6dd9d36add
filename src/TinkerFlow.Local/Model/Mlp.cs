using TinkerFlow.Local.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>SwiGLU feed-forward: <c>down_proj(silu(gate_proj(x)) * up_proj(x))</c>.</summary>
internal sealed class Mlp : nn.Module<Tensor, LoraAdapter?, Tensor>
{
    /// <summary>Gate projection. [I, C]</summary>
    public LoraLinear gate_proj;

    /// <summary>Up projection. [I, C]</summary>
    public LoraLinear up_proj;

    /// <summary>Down projection. [C, I]</summary>
    public LoraLinear down_proj;

    /// <summary>Builds the MLP for <paramref name="config"/>.</summary>
    public Mlp(TransformerConfig config) : base(nameof(Mlp))
    {
        gate_proj = new LoraLinear(config.HiddenSize, config.IntermediateSize, config.MlpBias);
        up_proj = new LoraLinear(config.HiddenSize, config.IntermediateSize, config.MlpBias);
        down_proj = new LoraLinear(config.IntermediateSize, config.HiddenSize, config.MlpBias);
        RegisterComponents();
    }

    /// <summary>x: [B, T, C] float32 → [B, T, C] float32.</summary>
    public override Tensor forward(Tensor x, LoraAdapter? adapter) => forward(x, adapter, null);

    /// <summary>x: [B, T, C] float32 → [B, T, C] float32, with per-row adapters when <paramref name="routing"/> is set.</summary>
    public Tensor forward(Tensor x, LoraAdapter? adapter, LoraRouting? routing)
    {
        using var scope = torch.NewDisposeScope();
        var gate = nn.functional.silu(gate_proj.forward(x, adapter, routing));      // (B, T, I)
        var up = up_proj.forward(x, adapter, routing);                               // (B, T, I)
        return down_proj.forward(gate * up, adapter, routing).MoveToOuterDisposeScope(); // (B, T, C)
    }
}
