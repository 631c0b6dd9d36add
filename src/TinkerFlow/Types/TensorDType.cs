using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>Element type of a <see cref="TensorData"/> (<c>dtype</c>); only these two exist on the public wire.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TensorDType>))]
public enum TensorDType
{
    /// <summary>64-bit signed integers (<c>"int64"</c>), e.g. <c>target_tokens</c>.</summary>
    [JsonStringEnumMemberName("int64")]
    Int64,

    /// <summary>32-bit floats (<c>"float32"</c>), e.g. <c>weights</c>, <c>advantages</c>, <c>logprobs</c>.</summary>
    [JsonStringEnumMemberName("float32")]
    Float32,
}
