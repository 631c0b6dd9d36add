namespace TinkerFlow.Types;

/// <summary>Result of <c>POST /api/v1/telemetry</c>: <c>{"status":"accepted"}</c>.</summary>
public sealed record TelemetryResponse
{
    /// <summary>Status (<c>status</c>), <c>"accepted"</c>.</summary>
    public required string Status { get; init; }
}
