using TorchSharp;

namespace TinkerFlow.Local.Weights;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">The tensor's key, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="Dtype">The safetensors dtype name, e.g. <c>BF16</c>.</param>
/// <param name="ScalarType">The matching TorchSharp scalar type.</param>
/// <param name="Shape">The tensor's shape (empty for a scalar).</param>
/// <param name="Begin">Start of the tensor's bytes, relative to the data section.</param>
/// <param name="End">End (exclusive) of the tensor's bytes, relative to the data section.</param>
internal sealed record SafeTensorInfo(string Name, string Dtype, torch.ScalarType ScalarType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of bytes the tensor occupies.</summary>
    public long ByteLength => End - Begin;
}
