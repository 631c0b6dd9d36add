using TinkerFlow.Local.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// Multi-head self-attention with grouped-query heads, RoPE, and Qwen3's optional per-head RMSNorm on queries and keys
/// (applied before RoPE).
/// </summary>
/// <remarks>
/// For several new tokens (training, prefill) the K/V heads are repeated to match the query heads; prompts packed into
/// one row (<see cref="AttentionContext.Segments"/>) attend per prompt. For one new token per
/// row (a decode step) the repeated K/V are never materialised: the G query heads that share a K/V head are laid out
/// as G query rows of that head, so attention reads each cached key once.
/// </remarks>
internal sealed class Attention : nn.Module<Tensor, AttentionContext, Tensor>
{
    private readonly int _layerIndex;
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;

    /// <summary>Query projection. [H·D, C]</summary>
    public LoraLinear q_proj;

    /// <summary>Key projection. [Hkv·D, C]</summary>
    public LoraLinear k_proj;

    /// <summary>Value projection. [Hkv·D, C]</summary>
    public LoraLinear v_proj;

    /// <summary>Output projection. [C, H·D]</summary>
    public LoraLinear o_proj;

    /// <summary>Qwen3 only: RMSNorm over each query head. [D]</summary>
    public RmsNorm? q_norm;

    /// <summary>Qwen3 only: RMSNorm over each key head. [D]</summary>
    public RmsNorm? k_norm;

    /// <summary>Builds layer <paramref name="layerIndex"/>'s attention for <paramref name="config"/>.</summary>
    public Attention(TransformerConfig config, int layerIndex) : base(nameof(Attention))
    {
        _layerIndex = layerIndex;
        _heads = config.NumAttentionHeads;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.HeadDim;
        q_proj = new LoraLinear(config.HiddenSize, _heads * _headDim, config.AttentionBias);
        k_proj = new LoraLinear(config.HiddenSize, _kvHeads * _headDim, config.AttentionBias);
        v_proj = new LoraLinear(config.HiddenSize, _kvHeads * _headDim, config.AttentionBias);
        o_proj = new LoraLinear(_heads * _headDim, config.HiddenSize, config.AttentionBias);
        if (config.UseQkNorm)
        {
            q_norm = new RmsNorm(_headDim, config.RmsNormEps);
            k_norm = new RmsNorm(_headDim, config.RmsNormEps);
        }
        RegisterComponents();
    }

    /// <summary>x: [B, T, C] float32 → [B, T, C] float32.</summary>
    public override Tensor forward(Tensor x, AttentionContext context)
    {
        using var scope = torch.NewDisposeScope();
        long batch = x.shape[0], time = x.shape[1];
        var adapter = context.Adapter;

        var routing = context.Routing;

        var q = q_proj.forward(x, adapter, routing).view(batch, time, _heads, _headDim);      // (B, T, H, D)
        var k = k_proj.forward(x, adapter, routing).view(batch, time, _kvHeads, _headDim);    // (B, T, Hkv, D)
        var v = v_proj.forward(x, adapter, routing).view(batch, time, _kvHeads, _headDim);    // (B, T, Hkv, D)
        if (q_norm is not null && k_norm is not null)
        {
            q = q_norm.forward(q);                                                   // (B, T, H, D)
            k = k_norm.forward(k);                                                   // (B, T, Hkv, D)
        }

        q = RotaryEmbedding.Apply(q.transpose(1, 2), context.Cos, context.Sin);      // (B, H, T, D)
        k = RotaryEmbedding.Apply(k.transpose(1, 2), context.Cos, context.Sin);      // (B, Hkv, T, D)
        v = v.transpose(1, 2);                                                       // (B, Hkv, T, D)
        if (context.Cache is { } cache)
        {
            (k, v) = cache.Append(_layerIndex, k, v);                                // (B, Hkv, S, D)
        }

        Tensor y;
        if (time == 1)
        {
            // Grouped-query decode: query heads hkv·G .. hkv·G + G − 1 share K/V head hkv (RepeatKv's order).
            var grouped = q.reshape(batch, _kvHeads, _heads / _kvHeads, _headDim);   // (B, Hkv, G, D)
            y = context.Mask is null
                ? nn.functional.scaled_dot_product_attention(grouped, k, v)         // (B, Hkv, G, D)
                : nn.functional.scaled_dot_product_attention(grouped, k, v, context.Mask); // mask (B, 1, 1, S) broadcasts
            y = y.reshape(batch, 1, _heads * _headDim);                              // (B, 1, H·D)
        }
        else if (context.Segments is { } segments)
        {
            // Packed prompts: attention per prompt, each causal over its own tokens only.
            var qs = segments.Pad(q);                                                // (J, H, Tmax, D)
            var ks = RepeatKv(segments.Pad(k));                                      // (J, H, Tmax, D)
            var vs = RepeatKv(segments.Pad(v));                                      // (J, H, Tmax, D)
            y = segments.Unpad(nn.functional.scaled_dot_product_attention(qs, ks, vs, is_casual: true)); // (1, ΣT, H·D)
        }
        else
        {
            k = RepeatKv(k);                                                         // (B, H, S, D)
            v = RepeatKv(v);                                                         // (B, H, S, D)
            y = context.Mask is null
                ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true) // (B, H, T, D)
                : nn.functional.scaled_dot_product_attention(q, k, v, context.Mask); // (B, H, T, D)
            y = y.transpose(1, 2).reshape(batch, time, _heads * _headDim);          // (B, T, H·D)
        }
        return o_proj.forward(y, adapter, routing).MoveToOuterDisposeScope();       // (B, T, C)
    }

    private Tensor RepeatKv(Tensor kv)
    {
        int groups = _heads / _kvHeads;
        if (groups == 1)
        {
            return kv;
        }
        long batch = kv.shape[0], length = kv.shape[2];
        return kv.unsqueeze(2)                                                       // (B, Hkv, 1, S, D)
            .expand(batch, _kvHeads, groups, length, _headDim)                      // (B, Hkv, G, S, D)
            .reshape(batch, _heads, length, _headDim);                              // (B, H, S, D)
    }
}
