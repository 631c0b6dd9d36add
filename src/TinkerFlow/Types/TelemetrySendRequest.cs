namespace TinkerFlow.Types;

/// <summary><c>POST /api/v1/telemetry</c> body: <c>{"events":[…],"platform","sdk_version","session_id","process_uuid"?}</c>.</summary>
public sealed record TelemetrySendRequest
{
    /// <summary>The events, at most 100 per batch (<c>events</c>).</summary>
    public required IReadOnlyList<TelemetryEvent> Events { get; init; }

    /// <summary>Host platform name, e.g. <c>"Linux"</c> (<c>platform</c>).</summary>
    public required string Platform { get; init; }

    /// <summary>The emulated Python SDK version (<c>sdk_version</c>).</summary>
    public required string SdkVersion { get; init; }

    /// <summary>The session, or <c>sessionless-&lt;uuid&gt;</c> (<c>session_id</c>).</summary>
    public required string SessionId { get; init; }

    /// <summary>Id of the sending process (<c>process_uuid</c>, SDK ≥0.24).</summary>
    public string? ProcessUuid { get; init; }
}
