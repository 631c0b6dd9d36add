using TinkerFlow.Types;

namespace TinkerFlow;

/// <summary>
/// A request that a <see cref="TinkerBackend"/> has accepted and queued: its request id and the task that
/// completes with its result.
/// </summary>
/// <typeparam name="T">The result type (e.g. <see cref="Types.ForwardBackwardOutput"/>).</typeparam>
public sealed class BackendOperation<T>
{
    /// <summary>Creates an operation from the backend's request id and the task producing its result.</summary>
    /// <param name="requestId">The id the backend assigned to the queued request.</param>
    /// <param name="result">Completes with the result, or faults with a <see cref="TinkerRequestException"/>.</param>
    public BackendOperation(string requestId, Task<T> result)
        : this(requestId, result, started: null)
    {
    }

    /// <summary>Creates an operation whose backend also reports when it began executing the request.</summary>
    /// <param name="requestId">The id the backend assigned to the queued request.</param>
    /// <param name="result">Completes with the result, or faults with a <see cref="TinkerRequestException"/>.</param>
    /// <param name="started">Completes with the time execution began (null when the backend cannot tell).</param>
    public BackendOperation(string requestId, Task<T> result, Task<DateTimeOffset>? started)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentNullException.ThrowIfNull(result);
        RequestId = requestId;
        Result = result;
        Started = started;
    }

    /// <summary>The id of the queued request (the wire's <c>request_id</c>).</summary>
    public string RequestId { get; }

    /// <summary>Completes with the operation's result.</summary>
    public Task<T> Result { get; }

    /// <summary>
    /// Completes with the time the backend began executing the request, so clients can measure queue wait; null when
    /// the backend does not report it (a remote service). Never faults; it may stay incomplete if the request fails
    /// before it starts.
    /// </summary>
    public Task<DateTimeOffset>? Started { get; }

    /// <summary>
    /// Tells, while the request has not finished, whether it waits for capacity (<see cref="QueueState.PausedCapacity"/>
    /// with a reason) or is moving (<see cref="QueueState.Active"/>); a server puts it in <c>retrieve_future</c>'s
    /// <c>try_again</c> answers. Null when the backend cannot tell (then the request counts as active).
    /// </summary>
    public Func<(QueueState State, string? Reason)>? QueueStatus { get; init; }
}
