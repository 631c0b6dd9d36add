using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>Severity of a telemetry event (<c>severity</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TelemetrySeverity>))]
public enum TelemetrySeverity
{
    /// <summary><c>"DEBUG"</c>.</summary>
    [JsonStringEnumMemberName("DEBUG")]
    Debug,

    /// <summary><c>"INFO"</c>.</summary>
    [JsonStringEnumMemberName("INFO")]
    Info,

    /// <summary><c>"WARNING"</c>.</summary>
    [JsonStringEnumMemberName("WARNING")]
    Warning,

    /// <summary><c>"ERROR"</c>.</summary>
    [JsonStringEnumMemberName("ERROR")]
    Error,

    /// <summary><c>"CRITICAL"</c>.</summary>
    [JsonStringEnumMemberName("CRITICAL")]
    Critical,
}
