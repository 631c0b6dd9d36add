namespace TinkerFlow.Types;

/// <summary>Telemetry <c>SESSION_START</c> event.</summary>
public sealed record SessionStartEvent : TelemetryEvent;
