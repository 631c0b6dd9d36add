using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>Kind of checkpoint (<c>checkpoint_type</c>); path segment <c>weights</c> ↔ training, <c>sampler_weights</c> ↔ sampler.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CheckpointType>))]
public enum CheckpointType
{
    /// <summary>Full training state from <c>save_weights</c> (<c>"training"</c>, path segment <c>weights</c>).</summary>
    [JsonStringEnumMemberName("training")]
    Training,

    /// <summary>Weights for sampling from <c>save_weights_for_sampler</c> (<c>"sampler"</c>, path segment <c>sampler_weights</c>).</summary>
    [JsonStringEnumMemberName("sampler")]
    Sampler,
}
