using System.Reactive.Subjects;
using System.Threading.Tasks.Dataflow;
using TinkerFlow.Dataflow.Internal;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>
/// Trains on batches of datums while keeping <see cref="TrainingStageOptions.SubmitAhead"/> further steps of
/// (forward_backward, optim_step) queued on the backend, so step N+1 is submitted before step N's results are awaited
/// and no clock cycle is lost. Results flow out of <see cref="Output"/> in step order.
/// </summary>
/// <remarks>
/// <para>The constructor builds the graph: a single-threaded submitter (bounded by <see cref="TrainingStageOptions.InputCapacity"/>)
/// that queues each step with <see cref="WaitUntil.Started"/>, and a single-threaded awaiter that awaits the steps
/// in order and emits <see cref="TrainStepResult"/>s. At most <c>1 + SubmitAhead</c> steps are between submission
/// and awaited results.</para>
/// <para>Link <see cref="Output"/> to a consumer (or <see cref="DataflowBlock.NullTarget{T}"/>): an unread output
/// stops the stage once <see cref="TrainingStageOptions.OutputCapacity"/> results wait. Completing <see cref="Input"/>
/// trains a last partial step (fewer than <see cref="TrainingStageOptions.MinibatchesPerStep"/> minibatches) and then
/// completes the stage. Await <see cref="Completion"/>: the first fault anywhere stops every block and surfaces there.</para>
/// </remarks>
/// <example>
/// <code>
/// var stage = new TrainingStage(trainingClient, new TrainingStageOptions
/// {
///     SubmitAhead = 1,
///     AdamParams = new LrSchedule(LrScheduleKind.Linear, 3e-4, totalSteps: 100).ToAdamParams(),
///     TotalSteps = 100,
/// });
/// using var jsonl = stage.Metrics.Subscribe(new JsonlMetricsWriter(Path.Combine(logPath, "metrics.jsonl")));
/// batcher.LinkTo(stage.Input, new DataflowLinkOptions { PropagateCompletion = true });
/// stage.Output.LinkTo(DataflowBlock.NullTarget&lt;TrainStepResult&gt;());
/// await stage.Completion;
/// </code>
/// </example>
public sealed class TrainingStage
{
    private readonly TrainingClient _client;
    private readonly TrainingStageOptions _options;
    private readonly GraphSupervisor _supervisor;
    private readonly Subject<MetricRecord> _metrics = new();
    private readonly SemaphoreSlim _slots;
    private readonly ActionBlock<IReadOnlyList<Datum>> _submit;
    private readonly BufferBlock<PendingStep> _pending;
    private readonly TransformBlock<PendingStep, TrainStepResult> _await;
    private PendingStep? _open;
    private int _nextStep;
    private long _datumsSubmitted;
    private long _tokensSubmitted;
    private SamplingClient? _lastSampler;
    private int _inFlight;
    private int _completed;
    private DateTimeOffset? _firstSubmittedAt;

    /// <summary>Builds and starts the stage.</summary>
    /// <param name="trainingClient">The client whose model is trained.</param>
    /// <param name="options">Submit-ahead depth, loss, schedule, capacities; null for the defaults.</param>
    public TrainingStage(TrainingClient trainingClient, TrainingStageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trainingClient);
        options ??= new TrainingStageOptions();
        options.Validate();
        _client = trainingClient;
        _options = options;
        _supervisor = new GraphSupervisor(options.CancellationToken);
        _slots = new SemaphoreSlim(1 + options.SubmitAhead, 1 + options.SubmitAhead);
        _nextStep = options.FirstStep;

        _submit = _supervisor.Watch(new ActionBlock<IReadOnlyList<Datum>>(
            minibatch => Cancellation.NotSilentAsync(() => SubmitMinibatchAsync(minibatch), _supervisor.StopToken, "Submitting a training step"),
            new ExecutionDataflowBlockOptions
            {
                BoundedCapacity = options.InputCapacity,
                MaxDegreeOfParallelism = 1,
                CancellationToken = options.CancellationToken,
            }));
        _pending = _supervisor.Watch(new BufferBlock<PendingStep>(new DataflowBlockOptions
        {
            BoundedCapacity = 1 + options.SubmitAhead,
            CancellationToken = options.CancellationToken,
        }));
        _await = _supervisor.Watch(new TransformBlock<PendingStep, TrainStepResult>(
            step => Cancellation.NotSilentAsync(() => AwaitStepAsync(step), _supervisor.StopToken, $"Awaiting training step {step.Step}"),
            new ExecutionDataflowBlockOptions
            {
                BoundedCapacity = options.OutputCapacity,
                MaxDegreeOfParallelism = 1,
                CancellationToken = options.CancellationToken,
            }));

        _supervisor.WatchTask(CompletionLink.Propagate(_submit.Completion, _pending, FlushPartialStepAsync));
        _pending.LinkTo(_await, new DataflowLinkOptions { PropagateCompletion = true });
        Completion = CompleteAsync();
    }

    /// <summary>Where batches (or, with <see cref="TrainingStageOptions.MinibatchesPerStep"/> &gt; 1, minibatches) go in. Bounded: use <c>SendAsync</c>.</summary>
    public ITargetBlock<IReadOnlyList<Datum>> Input => _submit;

    /// <summary>One <see cref="TrainStepResult"/> per step, in step order.</summary>
    public ISourceBlock<TrainStepResult> Output => _await;

    /// <summary>
    /// Completes when every block of the stage has finished: faulted with the first fault (e.g. a
    /// <see cref="TinkerRequestException"/>), cancelled when <see cref="TrainingStageOptions.CancellationToken"/> fired.
    /// </summary>
    public Task Completion { get; }

    /// <summary>One <see cref="MetricRecord"/> per step (see <see cref="MetricNames"/>); completes (or errors) with the stage.</summary>
    public IObservable<MetricRecord> Metrics => _metrics;

    /// <summary>Steps submitted whose results have not been awaited yet.</summary>
    public int StepsInFlight => Volatile.Read(ref _inFlight);

    /// <summary>Steps whose results have been awaited.</summary>
    public int StepsCompleted => Volatile.Read(ref _completed);

    private async Task SubmitMinibatchAsync(IReadOnlyList<Datum> minibatch)
    {
        ArgumentNullException.ThrowIfNull(minibatch);
        if (minibatch.Count == 0)
        {
            throw new ArgumentException("The training stage received an empty batch; send at least one Datum per batch.", nameof(minibatch));
        }

        var stop = _supervisor.StopToken;
        if (_open is null)
        {
            var boundaryMetrics = await RunBarriersAsync(_nextStep, isFinal: false).ConfigureAwait(false);
            await _slots.WaitAsync(stop).ConfigureAwait(false);
            Interlocked.Increment(ref _inFlight);
            var now = _options.TimeProvider.GetUtcNow();
            _firstSubmittedAt ??= now;
            _open = new PendingStep(_nextStep++, now) { BoundaryMetrics = boundaryMetrics };
        }

        var future = await _options.Loss.SubmitAsync(_client, minibatch, stop).ConfigureAwait(false);
        _datumsSubmitted += minibatch.Count;
        _tokensSubmitted += minibatch.Sum(d => (long)d.ModelInput.Length);
        _open.Minibatches.Add(minibatch);
        _open.ForwardBackward.Add(future);
        if (_open.Minibatches.Count >= _options.MinibatchesPerStep)
        {
            await CloseStepAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs the barriers due before <paramref name="step"/> (or, at the end, those with <see cref="StepBarrier.AtEnd"/>)
    /// once every earlier step's results have arrived: taking every submission slot means no step is in flight.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, double>?> RunBarriersAsync(int step, bool isFinal)
    {
        var due = _options.Barriers.Where(b => isFinal ? b.AtEnd : b.IsDue(step)).ToList();
        if (due.Count == 0)
        {
            return null;
        }

        var stop = _supervisor.StopToken;
        var slots = 1 + _options.SubmitAhead;
        for (var i = 0; i < slots; i++)
        {
            await _slots.WaitAsync(stop).ConfigureAwait(false);
        }

        try
        {
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            var boundary = new StepBoundary(step, _datumsSubmitted, _tokensSubmitted, isFinal, Volatile.Read(ref _lastSampler));
            foreach (var barrier in due)
            {
                if (await barrier.RunAsync(boundary, stop).ConfigureAwait(false) is { } produced)
                {
                    foreach (var (key, value) in produced)
                    {
                        metrics[key] = value;
                    }
                }
            }

            return metrics;
        }
        finally
        {
            _slots.Release(slots);
        }
    }

    private async Task FlushPartialStepAsync()
    {
        if (_open is not null)
        {
            await CloseStepAsync().ConfigureAwait(false);
        }

        if (_nextStep > _options.FirstStep && await RunBarriersAsync(_nextStep, isFinal: true).ConfigureAwait(false) is { Count: > 0 } final)
        {
            // Every step's record is out (the barriers drained them), so the final row follows them.
            _metrics.OnNext(new MetricRecord(_nextStep, final, _options.TimeProvider.GetUtcNow()));
        }
    }

    private async Task CloseStepAsync()
    {
        var step = _open!;
        _open = null;
        var stop = _supervisor.StopToken;
        step.AdamParams = _options.AdamParams?.Invoke(step.Step) ?? new AdamParams();
        step.OptimStep = await _client.OptimStepAsync(WaitUntil.Started, step.AdamParams, stop).ConfigureAwait(false);
        if (_options.SnapshotSamplerAfterEachStep)
        {
            // Queued now, so its seq_id follows this optim_step and precedes the next step's forward_backward.
            step.Sampler = _client.SaveWeightsAndGetSamplingClientAsync(cancellationToken: stop);
        }

        if (!await _pending.SendAsync(step, stop).ConfigureAwait(false))
        {
            throw new OperationCanceledException("The training stage is stopping; a submitted step was not awaited.");
        }
    }

    private async Task<TrainStepResult> AwaitStepAsync(PendingStep step)
    {
        var stop = _supervisor.StopToken;
        try
        {
            var outputs = new ForwardBackwardOutput[step.ForwardBackward.Count];
            for (var i = 0; i < outputs.Length; i++)
            {
                outputs[i] = await step.ForwardBackward[i].WaitForCompletionAsync(stop).ConfigureAwait(false);
            }

            var optim = await step.OptimStep!.WaitForCompletionAsync(stop).ConfigureAwait(false);
            var sampler = step.Sampler is null ? null : await step.Sampler.WaitAsync(stop).ConfigureAwait(false);
            var completedAt = _options.TimeProvider.GetUtcNow();
            var metrics = StepMetrics.Build(
                step,
                outputs,
                optim,
                completedAt,
                _firstSubmittedAt ?? step.SubmittedAt,
                Volatile.Read(ref _inFlight),
                _options.TotalSteps,
                _options.Loss.IsCrossEntropy);
            var result = new TrainStepResult
            {
                Step = step.Step,
                Minibatches = step.Minibatches,
                ForwardBackward = outputs,
                OptimStep = optim,
                AdamParams = step.AdamParams!,
                SubmittedAt = step.SubmittedAt,
                CompletedAt = completedAt,
                Metrics = metrics,
                SamplingClient = sampler,
            };
            if (_options.StepMetrics?.Invoke(result) is { } extra)
            {
                foreach (var (key, value) in extra)
                {
                    metrics[key] = value;
                }
            }

            if (sampler is not null)
            {
                Volatile.Write(ref _lastSampler, sampler);
            }

            Interlocked.Increment(ref _completed);
            _metrics.OnNext(new MetricRecord(step.Step, metrics, completedAt));
            return result;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            _slots.Release();
        }
    }

    /// <summary>Waits for every block, then ends <see cref="Metrics"/> before <see cref="Completion"/> completes, so awaiting callers see a finished stream.</summary>
    private async Task CompleteAsync()
    {
        try
        {
            await _supervisor.Completion.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _metrics.OnError(ex);
            throw;
        }

        _metrics.OnCompleted();
    }
}
