namespace TinkerFlow.Types;

/// <summary>Telemetry <c>SESSION_END</c> event.</summary>
public sealed record SessionEndEvent : TelemetryEvent
{
    /// <summary>Session duration as an ISO-8601 duration string (<c>duration</c>), e.g. <c>"PT12.5S"</c>.</summary>
    public required string Duration { get; init; }
}
