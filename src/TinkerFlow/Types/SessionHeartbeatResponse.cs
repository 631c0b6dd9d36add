namespace TinkerFlow.Types;

/// <summary>Result of <c>session_heartbeat</c>: <c>{"type":"session_heartbeat"}</c>.</summary>
public sealed record SessionHeartbeatResponse
{
    /// <summary>Wire discriminator, always <c>"session_heartbeat"</c>.</summary>
    public string Type => "session_heartbeat";
}
