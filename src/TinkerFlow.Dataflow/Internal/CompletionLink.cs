using System.Threading.Tasks.Dataflow;

namespace TinkerFlow.Dataflow.Internal;

/// <summary>Completion propagation for links that cannot use <see cref="DataflowLinkOptions.PropagateCompletion"/> (an action block feeding a buffer).</summary>
internal static class CompletionLink
{
    /// <summary>
    /// When <paramref name="source"/> completes successfully, runs <paramref name="flush"/> (e.g. send a partial batch) and
    /// completes <paramref name="target"/>; when it faults, faults the target; when it is cancelled, completes the target.
    /// </summary>
    public static Task Propagate(Task source, IDataflowBlock target, Func<Task>? flush = null) => PropagateAsync(source, target, flush);

    private static async Task PropagateAsync(Task source, IDataflowBlock target, Func<Task>? flush)
    {
        try
        {
            await source.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            target.Complete();
            return;
        }
        catch (Exception ex)
        {
            target.Fault(ex);
            return;
        }

        try
        {
            if (flush is not null)
            {
                await flush().ConfigureAwait(false);
            }

            target.Complete();
        }
        catch (OperationCanceledException)
        {
            target.Complete();
        }
        catch (Exception ex)
        {
            target.Fault(ex);
        }
    }
}
