using TinkerFlow.Local.Lora;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>What every decoder layer of one forward pass shares: RoPE angles, the attention mask, the cache and the adapter.</summary>
/// <param name="Cos">RoPE cosines. [B, 1, T, D] float32</param>
/// <param name="Sin">RoPE sines. [B, 1, T, D] float32</param>
/// <param name="Mask">
/// Which keys each query may attend to. [B, 1, T, S] bool (true = attend), S = cached + new tokens;
/// null means plain causal attention over the T new tokens (no cache, no padding).
/// </param>
/// <param name="Cache">KV cache to append to and attend over, or null.</param>
/// <param name="Adapter">LoRA adapter applied by every <see cref="LoraLinear"/>, or null for the base model.</param>
internal sealed record AttentionContext(Tensor Cos, Tensor Sin, Tensor? Mask, KvCache? Cache, LoraAdapter? Adapter);
