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
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentNullException.ThrowIfNull(result);
        RequestId = requestId;
        Result = result;
    }

    /// <summary>The id of the queued request (the wire's <c>request_id</c>).</summary>
    public string RequestId { get; }

    /// <summary>Completes with the operation's result.</summary>
    public Task<T> Result { get; }
}
