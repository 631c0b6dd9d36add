using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// Where attention keeps the keys and values of earlier tokens: <see cref="KvCache"/> (one batch decoded from a
/// common start) or <see cref="SlotKvCache"/> (the continuous batcher's rows, each at its own length).
/// </summary>
internal interface IAttentionCache
{
    /// <summary>
    /// Stores one layer's keys and values of the new tokens and returns everything the layer attends over.
    /// k, v: [B, Hkv, T, D] → [B, Hkv, S, D] views of the cache's storage (not to be disposed by the caller's owner).
    /// </summary>
    (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v);
}
