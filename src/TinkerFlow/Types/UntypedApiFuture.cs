namespace TinkerFlow.Types;

/// <summary>What every asynchronous endpoint returns at once: <c>{"request_id","model_id"?}</c>; poll it with <c>retrieve_future</c>.</summary>
public sealed record UntypedApiFuture
{
    /// <summary>Handle of the queued request (<c>request_id</c>).</summary>
    public required string RequestId { get; init; }

    /// <summary>The model concerned (<c>model_id</c>), when the server echoes it.</summary>
    public string? ModelId { get; init; }
}
