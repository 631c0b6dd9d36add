using System.Runtime.CompilerServices;

namespace TinkerFlow;

/// <summary>
/// The result of a queued Tinker operation, awaited separately from its submission
/// (shaped like Azure's <c>Operation&lt;T&gt;</c> and the Python SDK's <c>APIFuture</c>).
/// </summary>
/// <typeparam name="T">The result type.</typeparam>
/// <remarks>
/// A future is awaitable: <c>var output = await future;</c>. Code that cannot await calls
/// <see cref="WaitForCompletion(TimeSpan?)"/>.
/// </remarks>
public class TinkerFuture<T>
{
    private readonly Task<T> _task;

    /// <summary>Creates a future over a result task.</summary>
    /// <param name="id">The request id (for a chunked call, the ids of all chunks joined by <c>,</c>).</param>
    /// <param name="task">Completes with the result.</param>
    public TinkerFuture(string id, Task<T> task)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(task);
        Id = id;
        _task = task;
    }

    /// <summary>For mocking.</summary>
    protected TinkerFuture()
    {
        Id = string.Empty;
        _task = Task.FromException<T>(new InvalidOperationException("This future was created for mocking and has no result."));
    }

    /// <summary>Creates an already-completed future.</summary>
    /// <param name="id">The request id.</param>
    /// <param name="value">The result.</param>
    public static TinkerFuture<T> FromResult(string id, T value) => new(id, Task.FromResult(value));

    /// <summary>The request id of the queued operation.</summary>
    public virtual string Id { get; }

    /// <summary>True once the operation has finished, successfully or not.</summary>
    public virtual bool HasCompleted => _task.IsCompleted;

    /// <summary>True once the operation has finished successfully.</summary>
    public virtual bool HasValue => _task.IsCompletedSuccessfully;

    /// <summary>The result. Throws if the operation has not completed (await the future first) or failed.</summary>
    /// <exception cref="InvalidOperationException">The operation is still running.</exception>
    /// <exception cref="TinkerRequestException">The operation failed.</exception>
    public virtual T Value
    {
        get
        {
            if (!_task.IsCompleted)
            {
                throw new InvalidOperationException(
                    $"The operation '{Id}' has not completed yet. Await the future, call WaitForCompletionAsync, or pass WaitUntil.Completed.");
            }

            return _task.GetAwaiter().GetResult();
        }
    }

    /// <summary>Waits for the result.</summary>
    /// <param name="cancellationToken">Stops waiting (the queued operation itself keeps running).</param>
    /// <returns>The result.</returns>
    public virtual Task<T> WaitForCompletionAsync(CancellationToken cancellationToken = default) =>
        cancellationToken.CanBeCanceled ? _task.WaitAsync(cancellationToken) : _task;

    /// <summary>Blocks until the result is available: for callers that cannot await.</summary>
    /// <param name="timeout">How long to wait; <c>null</c> waits forever.</param>
    /// <returns>The result.</returns>
    /// <exception cref="TimeoutException">The timeout passed first.</exception>
    public virtual T WaitForCompletion(TimeSpan? timeout = null)
    {
        if (timeout is { } t && !_task.Wait(t))
        {
            throw new TimeoutException($"The operation '{Id}' did not complete within {t}.");
        }

        return _task.GetAwaiter().GetResult();
    }

    /// <summary>Makes the future awaitable.</summary>
    /// <returns>An awaiter over the result.</returns>
    public TaskAwaiter<T> GetAwaiter() => WaitForCompletionAsync().GetAwaiter();

    /// <summary>The underlying task.</summary>
    /// <returns>A task that completes with the result.</returns>
    public Task<T> AsTask() => WaitForCompletionAsync();
}
