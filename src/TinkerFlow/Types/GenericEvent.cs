using System.Text.Json;

namespace TinkerFlow.Types;

/// <summary>Telemetry <c>GENERIC_EVENT</c> event.</summary>
public sealed record GenericEvent : TelemetryEvent
{
    /// <summary>Event name (<c>event_name</c>).</summary>
    public required string EventName { get; init; }

    /// <summary>Arbitrary JSON payload (<c>event_data</c>), default empty.</summary>
    public IReadOnlyDictionary<string, JsonElement> EventData { get; init; } = new Dictionary<string, JsonElement>();
}
