namespace TinkerFlow.Types;

/// <summary>Result of <c>GET /api/v1/healthz</c>: <c>{"status":"ok"}</c>.</summary>
public sealed record HealthResponse
{
    /// <summary>Health status (<c>status</c>), <c>"ok"</c> when healthy.</summary>
    public required string Status { get; init; }
}
