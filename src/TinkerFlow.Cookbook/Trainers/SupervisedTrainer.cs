using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Dataflow;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Trainers;

/// <summary>Settings of a <see cref="SupervisedTrainer"/> (and of the preference trainer built on it).</summary>
public sealed record SupervisedTrainerOptions
{
    /// <summary>The run's log directory: <c>checkpoints.jsonl</c> (and, for the recipe's sinks, <c>metrics.jsonl</c>).</summary>
    public required string LogPath { get; init; }

    /// <summary>Train until this global step (exclusive).</summary>
    public required int MaxSteps { get; init; }

    /// <summary>The learning-rate schedule over the whole run.</summary>
    public required LrSchedule LearningRate { get; init; }

    /// <summary>Betas, epsilon, weight decay; null for the SDK defaults.</summary>
    public AdamParams? Adam { get; init; }

    /// <summary>The loss: built-in (default <c>cross_entropy</c>) or a client-side submission.</summary>
    public TrainingLoss Loss { get; init; } = TrainingLoss.CrossEntropy;

    /// <summary>Steps queued beyond the running one.</summary>
    public int SubmitAhead { get; init; } = 1;

    /// <summary>When a batch closes (datums or tokens).</summary>
    public DatumBatcherOptions Batching { get; init; } = new();

    /// <summary>Evaluations run every <see cref="EvalEvery"/> steps and after the last step.</summary>
    public IReadOnlyList<TrainerEvaluation> Evaluations { get; init; } = [];

    /// <summary>Steps between evaluations; 0 = only after the last step.</summary>
    public int EvalEvery { get; init; }

    /// <summary>Checkpoint cadences and TTLs.</summary>
    public CheckpointOptions Checkpoints { get; init; } = new();

    /// <summary>
    /// Prepares each dataset batch before the <see cref="DatumBatcher"/> sees it, e.g. attaches a frozen reference
    /// model's logprobs as extra <c>loss_fn_inputs</c> that a <see cref="TrainingLoss.Custom"/> loss reads. It is called
    /// once per dataset batch, in data order, as the graph reads ahead of training (so its work overlaps the steps in
    /// flight; <see cref="DatumBatcherOptions.InputCapacity"/> bounds how far, so set it near one step's datums when
    /// preparing is costly), and must return one datum per input datum, in the same order (the data cursor counts them; anything else
    /// faults the run). A resumed run calls it again for the batches it reads, so it should be a pure function of the
    /// batch (a frozen reference is). Null trains the batches as the dataset gives them.
    /// </summary>
    public Func<IReadOnlyList<Datum>, CancellationToken, Task<IReadOnlyList<Datum>>>? PrepareBatch { get; init; }

    /// <summary>Extra per-step metrics from a step's result (e.g. a custom loss's own metrics).</summary>
    public Func<TrainStepResult, IReadOnlyDictionary<string, double>>? StepMetrics { get; init; }

    /// <summary>Cancels the run.</summary>
    public CancellationToken CancellationToken { get; init; }
}

/// <summary>
/// Supervised training as one Dataflow graph: the dataset from the run's cursor → <see cref="DatumBatcher"/> →
/// <see cref="TrainingStage"/> (submit-ahead; evaluations and checkpoints as barriers at step boundaries) → one
/// <see cref="IObservable{MetricRecord}"/>. Resume is built in: start it from <see cref="TrainerRun.StartOrResumeAsync"/>
/// and it continues with the same weights, optimizer state and data order.
/// </summary>
/// <remarks>
/// The trainer keeps no random state of its own: the data order is the dataset's, a pure function of the epoch (for
/// <see cref="Data.ConversationDataset"/> a shuffle seeded with the epoch, for <see cref="Data.PreferenceDataset{TPair}"/>
/// with seed + epoch), and the checkpoint's loop state records the cursor (epoch, batch, item within the batch) and the
/// step, so a resumed run reads exactly the datums an uninterrupted one would. <see cref="LoopState.RngSeed"/> and
/// <see cref="LoopState.RngState"/> are carried over from the start state unchanged; a dataset or
/// <see cref="SupervisedTrainerOptions.PrepareBatch"/> that draws random numbers must derive them from (seed, epoch,
/// batch), not from a generator that advances as it runs.
/// </remarks>
public sealed class SupervisedTrainer
{
    private readonly DatasetCursor _cursor;
    private readonly TrainingPipeline _pipeline;
    private long _datumsBefore;

    /// <summary>Builds the graph.</summary>
    /// <param name="run">The client and the loop state to start from.</param>
    /// <param name="dataset">The training data (batches by index, per-epoch order).</param>
    /// <param name="options">The settings.</param>
    public SupervisedTrainer(TrainerRun run, SupervisedDataset dataset, SupervisedTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(options);
        _cursor = new DatasetCursor(dataset, run.State, options.PrepareBatch);
        var first = run.State.Step;
        var checkpoints = new CheckpointManager(run.Client, options.LogPath, options.Checkpoints);
        List<StepBarrier> barriers = [];
        if (options.Evaluations.Count > 0)
        {
            barriers.Add(TrainerBarriers.Evaluate(run.Client, options.Evaluations, options.EvalEvery));
        }

        barriers.Add(TrainerBarriers.Checkpoint(checkpoints, first, b => _cursor.At(b.DatumsTrained, b.Step, b.TokensTrained)));
        Options = new TrainingPipelineOptions
        {
            Batching = options.Batching,
            MaxSteps = options.MaxSteps,
            CancellationToken = options.CancellationToken,
            Training = new TrainingStageOptions
            {
                Loss = options.Loss,
                SubmitAhead = options.SubmitAhead,
                FirstStep = first,
                TotalSteps = options.MaxSteps,
                AdamParams = options.LearningRate.ToAdamParams(options.Adam),
                Barriers = barriers,
                StepMetrics = result => StepMetrics(result, options.StepMetrics),
            },
        };
        LearningRate = options.LearningRate;
        _pipeline = new TrainingPipeline(run.Client, _cursor.ReadAsync(), Options);
    }

    /// <summary>The graph's options, as built.</summary>
    public TrainingPipelineOptions Options { get; }

    /// <summary>The schedule.</summary>
    public LrSchedule LearningRate { get; }

    /// <summary>One record per step (<c>train_mean_nll</c>, <c>num_sequences</c>, <c>num_tokens</c>, <c>optim/lr</c>, <c>epoch</c>, <c>progress/batch</c>, <c>time/step</c>, evaluations at their steps), then the final evaluation's record at <c>MaxSteps</c>.</summary>
    public IObservable<MetricRecord> Metrics => _pipeline.Metrics;

    /// <summary>Every step's result, in order.</summary>
    public IObservable<TrainStepResult> Steps => _pipeline.Steps;

    /// <summary>Runs until <c>MaxSteps</c>: the last evaluation and the final checkpoint included.</summary>
    /// <returns>A task that surfaces the graph's first fault.</returns>
    public Task RunAsync() => _pipeline.RunAsync();

    /// <summary>The graph, block by block (a recipe's <c>--describe</c>).</summary>
    /// <param name="sourceName">What the data is.</param>
    /// <returns>Several lines.</returns>
    public string Describe(string sourceName) => TrainingPipeline.Describe(sourceName, Options) + $"\n  learning rate   {LearningRate}";

    private Dictionary<string, double> StepMetrics(TrainStepResult result, Func<TrainStepResult, IReadOnlyDictionary<string, double>>? extra)
    {
        // Results arrive in step order, so a running count places each step's first datum in the dataset.
        var (epoch, batch, _) = _cursor.Locate(_datumsBefore);
        _datumsBefore += result.Data.Count();
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal) { [MetricNames.Epoch] = epoch, [MetricNames.ProgressBatch] = batch };
        foreach (var (key, value) in extra?.Invoke(result) ?? new Dictionary<string, double>())
        {
            metrics[key] = value;
        }

        return metrics;
    }
}
