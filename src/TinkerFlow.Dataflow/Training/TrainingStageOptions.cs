using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>Settings of a <see cref="TrainingStage"/> (and of the trainer inside an <see cref="RlPipeline{TItem, TRollout}"/>).</summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="SubmitAhead"/></term><description>1 (step N+1 is queued before step N is awaited; 0 = sequential)</description></item>
/// <item><term><see cref="MinibatchesPerStep"/></term><description>1 (each input batch is one step)</description></item>
/// <item><term><see cref="Loss"/></term><description><c>cross_entropy</c></description></item>
/// <item><term><see cref="FirstStep"/></term><description>0 (a resumed run passes the step it resumes at)</description></item>
/// <item><term><see cref="Barriers"/></term><description>none</description></item>
/// <item><term><see cref="StepMetrics"/></term><description>null</description></item>
/// <item><term><see cref="AdamParams"/></term><description>the SDK's <see cref="Types.AdamParams"/> defaults at every step</description></item>
/// <item><term><see cref="TotalSteps"/></term><description>null (no <c>progress/done_frac</c>)</description></item>
/// <item><term><see cref="SnapshotSamplerAfterEachStep"/></term><description>false</description></item>
/// <item><term><see cref="InputCapacity"/></term><description>2 batches</description></item>
/// <item><term><see cref="OutputCapacity"/></term><description>4 results</description></item>
/// <item><term><see cref="TimeProvider"/></term><description><see cref="TimeProvider.System"/></description></item>
/// <item><term><see cref="CancellationToken"/></term><description>none</description></item>
/// </list>
/// </remarks>
public sealed record TrainingStageOptions
{
    /// <summary>
    /// How many further steps may be submitted while a step's results are still awaited: up to
    /// <c>1 + SubmitAhead</c> steps of (forward_backward, optim_step) are queued on the backend at once, so each lands in
    /// the next clock cycle. 0 submits a step only after the previous one's results arrived.
    /// </summary>
    public int SubmitAhead { get; init; } = 1;

    /// <summary>
    /// Input batches per optimizer step. Above 1 the stage streams: each incoming minibatch is submitted as a
    /// forward_backward as soon as it arrives, and one optim_step follows every <c>MinibatchesPerStep</c> minibatches.
    /// </summary>
    public int MinibatchesPerStep { get; init; } = 1;

    /// <summary>The loss: a built-in <see cref="LossFnType"/> (<see cref="TrainingLoss.BuiltIn"/>) or a client-side submission (<see cref="TrainingLoss.Custom"/>).</summary>
    public TrainingLoss Loss { get; init; } = TrainingLoss.CrossEntropy;

    /// <summary>The global index of the first step this stage trains (a resumed run's step); steps, schedules and metrics count from it.</summary>
    public int FirstStep { get; init; }

    /// <summary>
    /// Work at step boundaries (evaluations, checkpoints). Before the stage submits step <c>s</c> it asks each barrier
    /// whether it is due; if any is, it first waits until every earlier step's results have arrived (so the weights hold
    /// exactly <c>s</c> applied steps), then runs the due barriers in order, and their metrics join step <c>s</c>'s
    /// record. Barriers with <see cref="StepBarrier.AtEnd"/> also run after the last step, in a record of their own.
    /// </summary>
    public IReadOnlyList<StepBarrier> Barriers { get; init; } = [];

    /// <summary>Extra metrics of a step computed from its result (e.g. rewards or KL from the per-token outputs), merged into its record.</summary>
    public Func<TrainStepResult, IReadOnlyDictionary<string, double>>? StepMetrics { get; init; }

    /// <summary>
    /// The Adam parameters of each step, by global step index: a learning-rate schedule
    /// (see <see cref="LrSchedule.ToAdamParams"/>). Null sends <c>new AdamParams()</c> every step.
    /// </summary>
    public Func<int, AdamParams>? AdamParams { get; init; }

    /// <summary>The planned number of steps of the whole run (global), for <c>progress/done_frac</c> and the console's ETA.</summary>
    public int? TotalSteps { get; init; }

    /// <summary>
    /// After each step's optim_step, also queue <see cref="TrainingClient.SaveWeightsAndGetSamplingClientAsync(SamplingRetryConfig, CancellationToken)"/>
    /// and put the new sampler in <see cref="TrainStepResult.SamplingClient"/>.
    /// </summary>
    public bool SnapshotSamplerAfterEachStep { get; init; }

    /// <summary>Input batches buffered before producers wait.</summary>
    public int InputCapacity { get; init; } = 2;

    /// <summary>Results buffered at <see cref="TrainingStage.Output"/> before the stage stops awaiting further steps.</summary>
    public int OutputCapacity { get; init; } = 4;

    /// <summary>The clock for timings and metric timestamps.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Cancels the whole stage: every block ends cancelled and <see cref="TrainingStage.Completion"/> throws <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(SubmitAhead, nameof(SubmitAhead));
        ArgumentOutOfRangeException.ThrowIfLessThan(MinibatchesPerStep, 1, nameof(MinibatchesPerStep));
        ArgumentOutOfRangeException.ThrowIfLessThan(InputCapacity, 1, nameof(InputCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(OutputCapacity, 1, nameof(OutputCapacity));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        if (TotalSteps is { } total)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(total, 1, nameof(TotalSteps));
        }

        ArgumentNullException.ThrowIfNull(Loss, nameof(Loss));
        ArgumentNullException.ThrowIfNull(Barriers, nameof(Barriers));
        ArgumentOutOfRangeException.ThrowIfNegative(FirstStep, nameof(FirstStep));
    }
}
