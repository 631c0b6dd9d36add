using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// A telemetry event; the kind is told by the <c>"event"</c> property: <c>SESSION_START</c>, <c>SESSION_END</c>,
/// <c>UNHANDLED_EXCEPTION</c> or <c>GENERIC_EVENT</c>.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "event")]
[JsonDerivedType(typeof(SessionStartEvent), "SESSION_START")]
[JsonDerivedType(typeof(SessionEndEvent), "SESSION_END")]
[JsonDerivedType(typeof(UnhandledExceptionEvent), "UNHANDLED_EXCEPTION")]
[JsonDerivedType(typeof(GenericEvent), "GENERIC_EVENT")]
public abstract record TelemetryEvent
{
    /// <summary>Unique event id, a UUID (<c>event_id</c>).</summary>
    public required string EventId { get; init; }

    /// <summary>Index of the event within its session (<c>event_session_index</c>).</summary>
    public required int EventSessionIndex { get; init; }

    /// <summary>Log severity (<c>severity</c>).</summary>
    public required TelemetrySeverity Severity { get; init; }

    /// <summary>When it happened (<c>timestamp</c>).</summary>
    public required DateTimeOffset Timestamp { get; init; }
}
