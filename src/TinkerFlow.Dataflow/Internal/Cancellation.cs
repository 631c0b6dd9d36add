namespace TinkerFlow.Dataflow.Internal;

/// <summary>
/// Dataflow blocks silently drop an item whose delegate throws <see cref="OperationCanceledException"/>. That is right
/// when the graph is stopping, but a stray cancellation (an HTTP timeout inside user code) would lose work and hang
/// the graph, so it is turned into a fault.
/// </summary>
internal static class Cancellation
{
    public static async Task<T> NotSilentAsync<T>(Func<Task<T>> body, CancellationToken stop, string what)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!stop.IsCancellationRequested)
        {
            throw new InvalidOperationException($"{what} was cancelled although the pipeline was not stopping (a timeout inside it?); the item would have been lost, so the pipeline fails instead.", ex);
        }
    }

    public static async Task NotSilentAsync(Func<Task> body, CancellationToken stop, string what)
    {
        try
        {
            await body().ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!stop.IsCancellationRequested)
        {
            throw new InvalidOperationException($"{what} was cancelled although the pipeline was not stopping (a timeout inside it?); the item would have been lost, so the pipeline fails instead.", ex);
        }
    }
}
