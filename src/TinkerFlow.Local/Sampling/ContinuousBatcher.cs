using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Model;

namespace TinkerFlow.Local.Sampling;

/// <summary>Bounds of one model's decode batch.</summary>
/// <param name="MaxRows">Most samples decoded at once (a request with more samples than this runs alone).</param>
/// <param name="MaxKvBytes">Most bytes of KV cache the batch may hold (a request that alone needs more runs alone).</param>
internal sealed record BatchLimits(int MaxRows, long MaxKvBytes);

/// <summary>
/// Continuous batching for one base model: a single decode loop on a dedicated thread that every sampling request of
/// the model joins (any adapter, any settings). Requests that arrive while others decode join at the next token step;
/// finished rows leave at once.
/// </summary>
/// <remarks>
/// <para><b>Admission and fairness.</b> Waiting requests are admitted strictly in arrival order, at every step, as long as
/// the batch stays within <see cref="BatchLimits"/> (rows, and KV bytes = rows × longest prompt + max_tokens × bytes per
/// token). A request that does not fit waits, and so do the ones behind it, so a large request is never overtaken
/// forever. A long request holds only its own rows: short requests keep joining and leaving beside it, so it cannot
/// starve them while capacity remains. A request larger than the limits on its own runs when the batch is empty.</para>
/// <para><b>Threading.</b> All tensors live on the loop's thread; <see cref="Enqueue"/> is safe from any thread.</para>
/// </remarks>
internal sealed class ContinuousBatcher : IDisposable
{
    private readonly object _gate = new();
    private readonly Queue<SampleJob> _waiting = new();
    private readonly CausalLm _model;
    private readonly Thread _thread;
    private bool _stopped;

    /// <summary>Starts the decode loop for <paramref name="model"/>.</summary>
    public ContinuousBatcher(CausalLm model, string name, BatchLimits limits)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxKvBytes, 1);
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

    /// <summary>Queues a validated request; the task completes when its last row finishes.</summary>
    /// <exception cref="ObjectDisposedException">The batcher was disposed.</exception>
    public Task<Types.SampleResponse> Enqueue(SampleJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            _waiting.Enqueue(job);
            Monitor.PulseAll(_gate);
        }
        return job.Completion;
    }

    /// <summary>Stops the loop after the current step; live and waiting requests fail.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void Loop()
    {
        using var batch = new DecodeBatch(_model);
        var newcomers = new List<SampleJob>();
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

    private void Admit(DecodeBatch batch, List<SampleJob> newcomers)
    {
        int rows = batch.RowCount;
        long columns = batch.MaxColumns;
        while (_waiting.TryPeek(out var job))
        {
            if (job.CancellationToken.IsCancellationRequested)
            {
                _waiting.Dequeue();
                job.Fail(new OperationCanceledException(job.CancellationToken));
                continue;
            }
            int rowsAfter = rows + job.NumSamples;
            long columnsAfter = Math.Max(columns, job.Columns);
            bool alone = rows == 0 && newcomers.Count == 0;
            bool fits = rowsAfter <= Limits.MaxRows && rowsAfter * columnsAfter * batch.BytesPerToken <= Limits.MaxKvBytes;
            if (!fits && !alone)
            {
                return;
            }
            _waiting.Dequeue();
            newcomers.Add(job);
            rows = rowsAfter;
            columns = columnsAfter;
        }
    }
}
