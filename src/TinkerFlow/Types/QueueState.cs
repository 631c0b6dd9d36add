using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>State of the server queue in a <see cref="TryAgainResponse"/> (<c>queue_state</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<QueueState>))]
public enum QueueState
{
    /// <summary>Work is progressing (<c>"active"</c>).</summary>
    [JsonStringEnumMemberName("active")]
    Active,

    /// <summary>Paused for lack of capacity (<c>"paused_capacity"</c>).</summary>
    [JsonStringEnumMemberName("paused_capacity")]
    PausedCapacity,

    /// <summary>Paused by a rate limit (<c>"paused_rate_limit"</c>).</summary>
    [JsonStringEnumMemberName("paused_rate_limit")]
    PausedRateLimit,
}
