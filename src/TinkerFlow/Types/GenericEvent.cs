using System.Text.Json;
using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>Telemetry <c>GENERIC_EVENT</c> event.</summary>
public sealed record GenericEvent : TelemetryEvent
{
    /// <summary>Creates an event with empty data.</summary>
    public GenericEvent()
    {
    }

    // System.Text.Json source generation resets init-only properties that are missing from the JSON to default(T)
    // (dotnet/runtime#84484); deserialisation goes through this constructor so missing fields keep the SDK defaults.
    [JsonConstructor]
    internal GenericEvent(IReadOnlyDictionary<string, JsonElement>? eventData = null) =>
        EventData = eventData ?? new Dictionary<string, JsonElement>();

    /// <summary>Event name (<c>event_name</c>).</summary>
    public required string EventName { get; init; }

    /// <summary>Arbitrary JSON payload (<c>event_data</c>), default empty.</summary>
    public IReadOnlyDictionary<string, JsonElement> EventData { get; init; } = new Dictionary<string, JsonElement>();
}
