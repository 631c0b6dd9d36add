using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>Why a sampled sequence ended (<c>stop_reason</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StopReason>))]
public enum StopReason
{
    /// <summary>Hit <c>max_tokens</c> (<c>"length"</c>).</summary>
    [JsonStringEnumMemberName("length")]
    Length,

    /// <summary>Hit a stop string/token or end of sequence (<c>"stop"</c>).</summary>
    [JsonStringEnumMemberName("stop")]
    Stop,
}
