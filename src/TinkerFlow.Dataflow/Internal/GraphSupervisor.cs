using System.Threading.Tasks.Dataflow;

namespace TinkerFlow.Dataflow.Internal;

/// <summary>
/// Watches every block (and helper task) of one graph: the first fault cancels the graph's stop token and faults every
/// other block with the same exception, so producers see <c>SendAsync</c> return false, in-flight awaits end, and the
/// graph's <see cref="Completion"/> reports that one fault.
/// </summary>
internal sealed class GraphSupervisor
{
    private readonly CancellationTokenSource _stop;
    private readonly List<IDataflowBlock> _blocks = [];
    private readonly List<Task> _tasks = [];
    private readonly Lock _gate = new();
    private Exception? _firstFault;
    private Task? _completion;

    public GraphSupervisor(CancellationToken userToken)
    {
        UserToken = userToken;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(userToken);
    }

    /// <summary>The caller's token: blocks are created with it, so cancelling it cancels every block.</summary>
    public CancellationToken UserToken { get; }

    /// <summary>Cancelled by the user token or by the first fault; used for waits inside block delegates.</summary>
    public CancellationToken StopToken => _stop.Token;

    /// <summary>The first fault seen, if any.</summary>
    public Exception? FirstFault
    {
        get
        {
            lock (_gate)
            {
                return _firstFault;
            }
        }
    }

    public T Watch<T>(T block)
        where T : IDataflowBlock
    {
        _blocks.Add(block);
        WatchTask(block.Completion);
        return block;
    }

    public void WatchTask(Task task)
    {
        _tasks.Add(task);
        // A block whose parallel work items fail together (e.g. three rollouts hitting the same dead teacher) completes
        // with all their exceptions; the graph reports the first, as it does for faults of different blocks.
        task.ContinueWith(
            t => FaultAll(t.Exception!.Flatten().InnerExceptions[0]),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Faults every watched block with <paramref name="exception"/> (the first fault wins) and cancels the stop token.</summary>
    public void FaultAll(Exception exception)
    {
        IDataflowBlock[] blocks;
        lock (_gate)
        {
            _firstFault ??= exception;
            exception = _firstFault;
            blocks = [.. _blocks];
        }

        try
        {
            _stop.Cancel();
        }
        catch (AggregateException)
        {
            // A registration threw; the graph is stopping anyway.
        }

        foreach (var block in blocks)
        {
            block.Fault(exception);
        }
    }

    /// <summary>
    /// Completes when every watched block and task has finished: faulted with the first fault if there was one,
    /// cancelled if the user token was cancelled, otherwise successfully. Call once, after the graph is built.
    /// </summary>
    public Task Completion => _completion ??= WhenAllAsync();

    private async Task WhenAllAsync()
    {
        try
        {
            await Task.WhenAll(_tasks).ConfigureAwait(false);
        }
        catch
        {
            // Inspected below.
        }

        if (FirstFault is { } fault)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(fault).Throw();
        }

        if (_tasks.Any(t => t.IsCanceled))
        {
            throw new OperationCanceledException("The dataflow graph was cancelled.", UserToken);
        }
    }
}
