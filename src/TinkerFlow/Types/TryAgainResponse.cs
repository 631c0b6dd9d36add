namespace TinkerFlow.Types;

/// <summary>Poll answer "not ready yet": <c>{"type":"try_again","request_id","queue_state","queue_state_reason"?}</c>.</summary>
public sealed record TryAgainResponse
{
    /// <summary>The polled request (<c>request_id</c>).</summary>
    public required string RequestId { get; init; }

    /// <summary>Queue state (<c>queue_state</c>), default active.</summary>
    public QueueState QueueState { get; init; }

    /// <summary>Human-readable reason for a paused queue (<c>queue_state_reason</c>).</summary>
    public string? QueueStateReason { get; init; }

    /// <summary>Wire discriminator, always <c>"try_again"</c>.</summary>
    public string Type => "try_again";
}
