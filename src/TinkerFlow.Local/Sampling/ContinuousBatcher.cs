using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Model;

namespace TinkerFlow.Local.Sampling;

/// <summary>Bounds of one model's decode batch and of its waiting queue.</summary>
/// <param name="MaxRows">Most samples decoded at once (a request with more samples than this runs alone).</param>
/// <param name="MaxKvBytes">Most bytes of KV cache the batch may hold (a request that alone needs more runs alone).</param>
/// <param name="MaxWaitingRows">
/// Most samples (rows) that may wait for room; <see cref="ContinuousBatcher.TryReserve"/> refuses a request that would
/// queue beyond it (an empty queue always takes one request, however large).
/// </param>
internal sealed record BatchLimits(int MaxRows, long MaxKvBytes, int MaxWaitingRows = int.MaxValue);

/// <summary>
/// Continuous batching for one base model: a single decode loop on a dedicated thread that every sampling request of
/// the model joins (any adapter, any settings). Requests that arrive while others decode join at the next token step;
/// finished rows leave at once.
/// </summary>
/// <remarks>
/// <para><b>Admission.</b> At every step, waiting requests are admitted in arrival order as long as the batch stays within
/// <see cref="BatchLimits"/> (rows, and KV bytes = rows × longest prompt + max_tokens × bytes per token). A request larger
/// than the limits on its own runs when the batch is empty.</para>
/// <para><b>Fairness.</b> When the oldest waiting request (the head) does not fit, the batcher computes the step by which
/// it surely fits: the running requests' rows leave at the latest max_tokens steps after they joined, so the head's
/// guaranteed start is the first such end at which the rows and KV bytes still held leave room for it. A later request
/// may overtake the head only if it fits now and its own max_tokens end it by that step (backfilling, as in HPC
/// schedulers), so overtaking never delays the head's guaranteed start and no request waits forever. Short requests
/// therefore keep flowing while a big request waits for room, and a long request holds only its own rows: short ones
/// keep joining and leaving beside it.</para>
/// <para><b>Back-pressure.</b> <see cref="TryReserve"/> bounds the rows waiting (<see cref="BatchLimits.MaxWaitingRows"/>),
/// so callers can refuse a request (the server answers 429) instead of letting it wait behind an unbounded queue.</para>
/// <para><b>Threading.</b> All tensors live on the loop's thread; <see cref="Enqueue"/>, <see cref="TryReserve"/> and
/// <see cref="CancelReservation"/> are safe from any thread.</para>
/// </remarks>
internal sealed class ContinuousBatcher : IDisposable
{
    private readonly object _gate = new();
    private readonly LinkedList<SampleJob> _waiting = new();
    private readonly List<(SampleJob Job, long EndStep)> _running = [];
    private readonly CausalLm _model;
    private readonly Thread _thread;
    private int _queuedRows;
    private bool _stopped;

    /// <summary>Starts the decode loop for <paramref name="model"/>.</summary>
    public ContinuousBatcher(CausalLm model, string name, BatchLimits limits)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxKvBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxWaitingRows, 1);
        _model = model;
        Limits = limits;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"tinkerflow-sample-{name}" };
        _thread.Start();
    }

    /// <summary>The batch's bounds.</summary>
    public BatchLimits Limits { get; }

    /// <summary>Requests waiting for room in the batch.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Rows waiting for room in the batch, counting reservations not yet enqueued.</summary>
    public int WaitingRows
    {
        get
        {
            lock (_gate)
            {
                return _queuedRows;
            }
        }
    }

    /// <summary>Rows decoding in the last step (for diagnostics and tests).</summary>
    public int LastStepRows { get; private set; }

    /// <summary>Most rows decoded together in one step since the batcher started (for diagnostics and tests).</summary>
    public int PeakRows { get; private set; }

    /// <summary>Steps run since the batcher started (for diagnostics).</summary>
    public long Steps { get; private set; }

    /// <summary>Rows decoded, summed over every step since the batcher started (for diagnostics: rows per step = RowSteps / Steps).</summary>
    public long RowSteps { get; private set; }

    /// <summary>Seconds spent inside steps since the batcher started (for diagnostics).</summary>
    public double StepSeconds { get; private set; }

    /// <summary>Requests that overtook a waiting head because they would finish before it could start (for diagnostics and tests).</summary>
    public long Backfilled { get; private set; }

    /// <summary>
    /// Reserves a place in the waiting queue for <paramref name="rows"/> samples, to be used by
    /// <see cref="Enqueue(SampleJob, bool)"/> with <c>reserved: true</c> or returned with <see cref="CancelReservation"/>.
    /// </summary>
    /// <returns>False when the queue already holds rows and these would take it past <see cref="BatchLimits.MaxWaitingRows"/>.</returns>
    public bool TryReserve(int rows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        lock (_gate)
        {
            if (_queuedRows > 0 && (long)_queuedRows + rows > Limits.MaxWaitingRows)
            {
                return false;
            }

            _queuedRows += rows;
            return true;
        }
    }

    /// <summary>Returns a reservation of <paramref name="rows"/> that will not be enqueued.</summary>
    public void CancelReservation(int rows)
    {
        lock (_gate)
        {
            _queuedRows = Math.Max(0, _queuedRows - rows);
        }
    }

    /// <summary>Queues a validated request; the task completes when its last row finishes.</summary>
    /// <param name="job">The request.</param>
    /// <param name="reserved">Whether its rows were reserved with <see cref="TryReserve"/> (otherwise they are counted now, without a limit).</param>
    /// <exception cref="ObjectDisposedException">The batcher was disposed.</exception>
    public Task<Types.SampleResponse> Enqueue(SampleJob job, bool reserved = false)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            if (!reserved)
            {
                _queuedRows += job.NumSamples;
            }

            _waiting.AddLast(job);
            Monitor.PulseAll(_gate);
        }
        return job.Completion;
    }

    /// <summary>
    /// Stops the loop after the current step (live and waiting requests fail) and waits for that step, so that the
    /// caller may free the model's tensors once this returns true.
    /// </summary>
    /// <returns>True when the loop's thread has ended; false when called from it or when the step outlasted <paramref name="timeout"/>.</returns>
    public bool Stop(TimeSpan timeout)
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
        }

        return Thread.CurrentThread != _thread && _thread.Join(timeout);
    }

    /// <summary>Stops the loop and waits for the current step (see <see cref="Stop"/>).</summary>
    public void Dispose() => Stop(OrderedExecutor.StopTimeout);

    private void Loop()
    {
        try
        {
            RunLoop();
        }
        catch (Exception ex)
        {
            // An exception here would end the process (it is this thread's top frame): fail the waiting requests instead.
            lock (_gate)
            {
                _stopped = true;
                foreach (var job in _waiting)
                {
                    job.Fail(ex);
                }

                _waiting.Clear();
                _queuedRows = 0;
            }
        }
    }

    private void RunLoop()
    {
        using var batch = new DecodeBatch(_model);
        var newcomers = new List<SampleJob>();
        try
        {
            Run(batch, newcomers);
        }
        catch (Exception ex)
        {
            // Outside a step (admission, the allocator trim): the requests in the batch and those just admitted fail too.
            batch.FailAll(ex);
            foreach (var job in newcomers)
            {
                job.Fail(ex);
            }

            throw;
        }
    }

    private void Run(DecodeBatch batch, List<SampleJob> newcomers)
    {
        while (true)
        {
            newcomers.Clear();
            lock (_gate)
            {
                while (!_stopped && _waiting.Count == 0 && batch.IsEmpty)
                {
                    Monitor.Wait(_gate);
                }
                if (_stopped)
                {
                    var stopped = new ObjectDisposedException(nameof(ContinuousBatcher), "The sampling engine was shut down.");
                    foreach (var job in _waiting)
                    {
                        job.Fail(stopped);
                    }
                    _waiting.Clear();
                    _queuedRows = 0;
                    batch.FailAll(stopped);
                    return;
                }
                Admit(batch, newcomers);
            }

            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                batch.Step(newcomers);
                int rows = batch.RowCount;
                LastStepRows = rows;
                PeakRows = Math.Max(PeakRows, rows);
                Steps++;
                RowSteps += rows;
                StepSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            }
            catch (Exception ex)
            {
                batch.FailAll(ex);
                foreach (var job in newcomers)
                {
                    job.Fail(ex);
                }
            }
            NativeSetup.AfterStep();
        }
    }

    /// <summary>Moves waiting requests into <paramref name="newcomers"/>: in arrival order while they fit, then backfills behind a head that does not.</summary>
    private void Admit(DecodeBatch batch, List<SampleJob> newcomers)
    {
        _running.RemoveAll(r => r.Job.Completion.IsCompleted);
        int rows = batch.RowCount;
        long columns = batch.MaxColumns;
        long? headStart = null;
        var node = _waiting.First;
        while (node is not null)
        {
            var next = node.Next;
            var job = node.Value;
            if (job.CancellationToken.IsCancellationRequested)
            {
                Remove(node);
                job.Fail(new OperationCanceledException(job.CancellationToken));
                node = next;
                continue;
            }

            int rowsAfter = rows + job.NumSamples;
            long columnsAfter = Math.Max(columns, job.Columns);
            bool alone = rows == 0 && newcomers.Count == 0;
            bool fits = rowsAfter <= Limits.MaxRows && rowsAfter * columnsAfter * batch.BytesPerToken <= Limits.MaxKvBytes;
            if (headStart is null)
            {
                if (!fits && !alone)
                {
                    // The head waits; from here on only requests that finish before it surely fits may pass it.
                    headStart = GuaranteedStart(job, batch.BytesPerToken);
                    node = next;
                    continue;
                }
            }
            else if (!fits || Steps + StepsToFinish(job) > headStart)
            {
                node = next;
                continue;
            }
            else
            {
                Backfilled++;
            }

            Remove(node);
            job.MarkAdmitted();
            newcomers.Add(job);
            _running.Add((job, Steps + StepsToFinish(job)));
            rows = rowsAfter;
            columns = columnsAfter;
            node = next;
        }
    }

    /// <summary>
    /// The step by which <paramref name="head"/> fits for certain: the first end of a running request (its rows leave at
    /// the latest <see cref="StepsToFinish"/> steps after it joined) after which the rows and KV bytes still held
    /// leave room for the head, or the batch is empty.
    /// </summary>
    private long GuaranteedStart(SampleJob head, long bytesPerToken)
    {
        var ends = _running.OrderBy(r => r.EndStep).ToList();
        for (int i = 0; i < ends.Count; i++)
        {
            long step = ends[i].EndStep;
            long held = 0;
            long columns = head.Columns;
            for (int j = i + 1; j < ends.Count; j++)
            {
                if (ends[j].EndStep > step)
                {
                    held += ends[j].Job.NumSamples;
                    columns = Math.Max(columns, ends[j].Job.Columns);
                }
            }

            long rows = held + head.NumSamples;
            if (held == 0 || (rows <= Limits.MaxRows && rows * columns * bytesPerToken <= Limits.MaxKvBytes))
            {
                return step;
            }
        }

        return Steps;
    }

    /// <summary>Steps after which every row of <paramref name="job"/> has surely left the batch (it emits one token per step, from the step it joins).</summary>
    private static long StepsToFinish(SampleJob job) => Math.Max(job.MaxTokens, 1) + 1;

    private void Remove(LinkedListNode<SampleJob> node)
    {
        _waiting.Remove(node);
        _queuedRows = Math.Max(0, _queuedRows - node.Value.NumSamples);
    }
}
