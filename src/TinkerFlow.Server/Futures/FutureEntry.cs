namespace TinkerFlow.Server.Futures;

/// <summary>One accepted request: who owns it and the JSON answer <c>retrieve_future</c> gives once it is done.</summary>
internal sealed class FutureEntry(string requestId, string owner, Task<byte[]> answer)
{
    public string RequestId => requestId;

    public string Owner => owner;

    /// <summary>Completes with the result JSON, or a <c>{"error","category"}</c> body when the request failed (never faults).</summary>
    public Task<byte[]> Answer => answer;

    /// <summary>The successful result object once done (null while running or when it failed), for protobuf answers.</summary>
    public object? Result { get; set; }

    /// <summary>When the answer became available (null while running).</summary>
    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>The backend's probe of where the request waits (<see cref="BackendOperation{T}.QueueStatus"/>), or null.</summary>
    public Func<(Types.QueueState State, string? Reason)>? QueueStatus { get; init; }
}
