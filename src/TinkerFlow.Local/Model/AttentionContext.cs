using TinkerFlow.Local.Lora;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>What every decoder layer of one forward pass shares: RoPE angles, the attention mask, the cache and the adapter.</summary>
/// <param name="Cos">RoPE cosines. [B or 1, 1, T, D] float32</param>
/// <param name="Sin">RoPE sines. [B or 1, 1, T, D] float32</param>
/// <param name="Mask">
/// Which keys each query may attend to. [B, 1, T, S] bool (true = attend), S = cached + new tokens.
/// Null means: causal over the new tokens when nothing is cached (T = S), or every cached key when one new token is
/// decoded per row (T = 1, no padding in the cache).
/// </param>
/// <param name="Cache">KV cache to append to and attend over, or null.</param>
/// <param name="Adapter">LoRA adapter applied by every <see cref="LoraLinear"/>, or null for the base model.</param>
/// <param name="Routing">Per-row adapters of a multi-adapter batch (overrides <paramref name="Adapter"/>), or null.</param>
/// <param name="Segments">
/// Several prompts packed into one row whose attention runs per prompt (a packed prefill; <paramref name="Mask"/> is
/// then null), or null.
/// </param>
internal sealed record AttentionContext(Tensor Cos, Tensor Sin, Tensor? Mask, IAttentionCache? Cache, LoraAdapter? Adapter, LoraRouting? Routing = null, PackedSegments? Segments = null);
