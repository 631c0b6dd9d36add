using System.Globalization;
using System.Reactive.Subjects;
using System.Text;
using System.Threading.Tasks.Dataflow;
using TinkerFlow.Dataflow.Internal;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>
/// One supervised-style training graph, built in one place: a datum source → <see cref="DatumBatcher"/> → step limit →
/// <see cref="TrainingStage"/> (submit-ahead, barriers for evaluations and checkpoints) → results. The supervised,
/// preference and distillation trainers of TinkerFlow.Cookbook are this graph with their own sources, losses and
/// barriers.
/// </summary>
/// <remarks>
/// <para>The constructor builds the graph; <see cref="RunAsync"/> starts reading the source and completes when the last
/// step's results (and the end barriers) are done. Subscribe to <see cref="Metrics"/> before running.</para>
/// <para>Every block is bounded: the source is read only as fast as the batcher, the step limit and the stage accept
/// (<see cref="DatumBatcherOptions.InputCapacity"/>, <see cref="TrainingStageOptions.InputCapacity"/>), and an unread
/// result stops the stage. The first fault anywhere (the source, a loss, a barrier, the backend) stops every block and
/// surfaces from <see cref="RunAsync"/>; cancelling <see cref="TrainingPipelineOptions.CancellationToken"/> ends it
/// cancelled.</para>
/// </remarks>
public sealed class TrainingPipeline
{
    private readonly IAsyncEnumerable<Datum> _source;
    private readonly TrainingPipelineOptions _options;
    private readonly GraphSupervisor _supervisor;
    private readonly IPropagatorBlock<Datum, IReadOnlyList<Datum>> _batcher;
    private readonly ActionBlock<IReadOnlyList<Datum>> _limit;
    private readonly TrainingStage _stage;
    private readonly ActionBlock<TrainStepResult> _results;
    private readonly Subject<TrainStepResult> _steps = new();
    private readonly CancellationTokenSource _enough = new();
    private readonly int _maxBatches;
    private int _sent;
    private int _started;

    /// <summary>Builds the graph (nothing is read until <see cref="RunAsync"/>).</summary>
    /// <param name="trainingClient">The model being trained.</param>
    /// <param name="source">The datums, in training order, from the run's data cursor on; may be endless (epochs).</param>
    /// <param name="options">Batching, the stage's settings (loss, schedule, barriers, first step), the step limit.</param>
    public TrainingPipeline(TrainingClient trainingClient, IEnumerable<Datum> source, TrainingPipelineOptions options)
        : this(trainingClient, (source ?? throw new ArgumentNullException(nameof(source))).ToAsyncEnumerable(), options)
    {
    }

    /// <summary>Builds the graph over an asynchronous source (e.g. datums that need a reference model's scores first).</summary>
    /// <param name="trainingClient">The model being trained.</param>
    /// <param name="source">The datums, in training order, from the run's data cursor on; may be endless.</param>
    /// <param name="options">Batching, the stage's settings (loss, schedule, barriers, first step), the step limit.</param>
    public TrainingPipeline(TrainingClient trainingClient, IAsyncEnumerable<Datum> source, TrainingPipelineOptions options)
    {
        ArgumentNullException.ThrowIfNull(trainingClient);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _source = source;
        _options = options;
        var token = options.CancellationToken;
        _supervisor = new GraphSupervisor(token);
        _maxBatches = options.MaxSteps is { } max ? checked((max - options.Training.FirstStep) * options.Training.MinibatchesPerStep) : int.MaxValue;

        // The batcher waits on the stop token, not only the user's: after a fault elsewhere its output may be full and
        // never read again, and a batch it is handing on must not wait for room forever.
        _batcher = _supervisor.Watch(DatumBatcher.Build(options.Batching with { CancellationToken = _supervisor.StopToken }));
        _limit = _supervisor.Watch(new ActionBlock<IReadOnlyList<Datum>>(
            batch => Cancellation.NotSilentAsync(() => ForwardAsync(batch), _supervisor.StopToken, "Handing a batch to the training stage"),
            new ExecutionDataflowBlockOptions { BoundedCapacity = 1, MaxDegreeOfParallelism = 1, CancellationToken = token }));
        _stage = new TrainingStage(trainingClient, options.Training with { CancellationToken = token });
        _supervisor.Watch(_stage.Input);
        _supervisor.WatchTask(_stage.Completion);
        _results = _supervisor.Watch(new ActionBlock<TrainStepResult>(
            _steps.OnNext,
            new ExecutionDataflowBlockOptions { BoundedCapacity = options.Training.OutputCapacity, MaxDegreeOfParallelism = 1, CancellationToken = token }));

        _batcher.LinkTo(_limit, new DataflowLinkOptions { PropagateCompletion = true });
        _supervisor.WatchTask(CompletionLink.Propagate(_limit.Completion, _stage.Input));
        _stage.Output.LinkTo(_results, new DataflowLinkOptions { PropagateCompletion = true });
    }

    /// <summary>One record per step (training metrics, <see cref="TrainingStageOptions.StepMetrics"/>, barrier metrics), then the end barriers' record; completes or errors with the graph.</summary>
    public IObservable<MetricRecord> Metrics => _stage.Metrics;

    /// <summary>Every step's result, in step order.</summary>
    public IObservable<TrainStepResult> Steps => _steps;

    /// <summary>Steps submitted whose results have not arrived yet.</summary>
    public int StepsInFlight => _stage.StepsInFlight;

    /// <summary>Runs the graph: reads the source until the step limit (or its end) and completes when every step and end barrier is done.</summary>
    /// <returns>A task that faults with the graph's first fault, or is cancelled with the options' token.</returns>
    /// <exception cref="InvalidOperationException">The pipeline already ran.</exception>
    public async Task RunAsync()
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            throw new InvalidOperationException("A TrainingPipeline runs once; build a new one (resume from its checkpoint) to train further.");
        }

        _supervisor.WatchTask(Task.Run(ProduceAsync));
        try
        {
            await _supervisor.Completion.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _steps.OnError(ex);
            throw;
        }

        _steps.OnCompleted();
    }

    /// <summary>The graph, block by block, with bounds and options (what a recipe's <c>--describe</c> prints).</summary>
    /// <param name="sourceName">What the source is, e.g. <c>tiny_chat.jsonl, 3,936 conversations, epochs reshuffled</c>.</param>
    /// <returns>Several lines.</returns>
    public string Describe(string sourceName) => Describe(sourceName, _options);

    /// <summary>Describes a graph that these options would build.</summary>
    /// <param name="sourceName">What the source is.</param>
    /// <param name="options">The options.</param>
    /// <returns>Several lines.</returns>
    public static string Describe(string sourceName, TrainingPipelineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var b = options.Batching;
        var t = options.Training;
        var text = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        text.AppendLine(ci, $"source        {sourceName}");
        text.AppendLine(ci, $"  → DatumBatcher    closes at {b.MaxItems:N0} datums or {b.MaxTokens:N0} tokens; buffers {b.InputCapacity} datums in, {b.OutputCapacity} batches out");
        text.AppendLine(ci, $"  → step limit      {(options.MaxSteps is { } m ? $"steps {t.FirstStep} … {m - 1} ({m - t.FirstStep} steps × {t.MinibatchesPerStep} minibatch(es))" : "until the source ends")}");
        text.AppendLine(ci, $"  → TrainingStage   loss {t.Loss}; submit-ahead {t.SubmitAhead} (≤ {1 + t.SubmitAhead} steps in flight); {t.MinibatchesPerStep} minibatch(es) per step; buffers {t.InputCapacity} in, {t.OutputCapacity} out{(t.SnapshotSamplerAfterEachStep ? "; sampler snapshot after each step" : string.Empty)}");
        foreach (var barrier in t.Barriers)
        {
            text.AppendLine(ci, $"      barrier       {barrier.Name}{(barrier.AtEnd && !barrier.Name.Contains("after the last step", StringComparison.Ordinal) ? " (and after the last step)" : string.Empty)}; drains in-flight steps first");
        }

        text.Append("  → results       IObservable<MetricRecord>, one record per step");
        return text.ToString();
    }

    private async Task ForwardAsync(IReadOnlyList<Datum> batch)
    {
        if (_sent >= _maxBatches)
        {
            return; // read ahead of the last step: never trained, and the data cursor does not count it
        }

        if (!await _stage.Input.SendAsync(batch, _supervisor.StopToken).ConfigureAwait(false))
        {
            // The stage declines only once it has stopped. Surface why (its fault, e.g. the engine failing a step) rather
            // than this hand-off, so the run reports the cause and not "cancelled although the pipeline was not stopping".
            await _stage.Completion.WaitAsync(_supervisor.StopToken).ConfigureAwait(false);
            throw new OperationCanceledException("The training stage declined a batch; the pipeline is stopping.");
        }

        if (++_sent == _maxBatches)
        {
            _stage.Input.Complete();
            await _enough.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task ProduceAsync()
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_enough.Token, _supervisor.StopToken);
        try
        {
            if (_maxBatches == 0)
            {
                return;
            }

            await foreach (var datum in _source.WithCancellation(linked.Token).ConfigureAwait(false))
            {
                if (linked.IsCancellationRequested || !await _batcher.SendAsync(datum, linked.Token).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            // Enough steps, or the graph is stopping (its fault or cancellation surfaces elsewhere).
        }
        finally
        {
            _batcher.Complete();
        }
    }
}
