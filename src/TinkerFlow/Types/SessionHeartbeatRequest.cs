namespace TinkerFlow.Types;

/// <summary><c>POST /api/v1/session_heartbeat</c> body: <c>{"session_id","type":"session_heartbeat"}</c>.</summary>
public sealed record SessionHeartbeatRequest
{
    /// <summary>The session kept alive (<c>session_id</c>).</summary>
    public required string SessionId { get; init; }

    /// <summary>Wire discriminator, always <c>"session_heartbeat"</c>.</summary>
    public string Type => "session_heartbeat";
}
