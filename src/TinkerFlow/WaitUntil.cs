namespace TinkerFlow;

/// <summary>
/// How long a queued Tinker operation method waits before it returns its <see cref="TinkerFuture{T}"/>.
/// </summary>
/// <remarks>
/// <see cref="Started"/> returns as soon as the request is queued, so callers can submit
/// <c>forward_backward</c> and <c>optim_step</c> back to back before awaiting either.
/// <see cref="Completed"/> also waits for the result, so <see cref="TinkerFuture{T}.Value"/> can be read at once.
/// </remarks>
public enum WaitUntil
{
    /// <summary>Return once the request has been accepted and queued.</summary>
    Started,

    /// <summary>Return once the result is available.</summary>
    Completed,
}
