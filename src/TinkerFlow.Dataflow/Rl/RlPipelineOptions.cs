using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>Settings of an <see cref="RlPipeline{TItem, TRollout}"/>.</summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="RolloutsPerStep"/></term><description>required (the cookbook's <c>groups_per_batch</c>)</description></item>
/// <item><term><see cref="MaxStaleness"/></term><description>1 (0 = fully on-policy)</description></item>
/// <item><term><see cref="MaxConcurrentRollouts"/></term><description>null = <c>RolloutsPerStep × (MaxStaleness + 1)</c>, all that admission allows</description></item>
/// <item><term><see cref="MinibatchesPerStep"/></term><description>1 (no streaming)</description></item>
/// <item><term><see cref="InputCapacity"/></term><description>null = <see cref="RolloutsPerStep"/> items</description></item>
/// <item><term><see cref="Training"/></term><description><c>importance_sampling</c> loss, submit-ahead 1, default Adam</description></item>
/// <item><term><see cref="CancellationToken"/></term><description>none</description></item>
/// </list>
/// </remarks>
public sealed record RlPipelineOptions
{
    /// <summary>Rollouts (items) trained per optimizer step. Must be at least 1.</summary>
    public required int RolloutsPerStep { get; init; }

    /// <summary>
    /// The bound on off-policyness, enforced by admission control: a rollout destined for step <c>s</c> starts only once
    /// the latest sampler version <c>v</c> satisfies <c>s − v ≤ MaxStaleness</c>, so no finished rollout is ever
    /// discarded or re-queued. 0 is synchronous on-policy RL; 1 overlaps sampling for step s+1 with training step s.
    /// </summary>
    public int MaxStaleness { get; init; } = 1;

    /// <summary>At most this many rollouts run at once (sampling and environment work). Null: as many as admission allows.</summary>
    public int? MaxConcurrentRollouts { get; init; }

    /// <summary>
    /// Streaming minibatches: each step's rollouts are split (in admission order) into this many minibatches; each is
    /// built into datums and submitted as a forward_backward as soon as all its rollouts finished, and one optim_step
    /// follows the last. Must divide <see cref="RolloutsPerStep"/>.
    /// </summary>
    public int MinibatchesPerStep { get; init; } = 1;

    /// <summary>Items buffered at <see cref="RlPipeline{TItem, TRollout}.Input"/> before <c>SendAsync</c> waits. Null: <see cref="RolloutsPerStep"/>.</summary>
    public int? InputCapacity { get; init; }

    /// <summary>
    /// The trainer's settings: loss (built-in or custom), Adam schedule, <see cref="TrainingStageOptions.SubmitAhead"/>,
    /// first and total steps, barriers, clock; <c>FirstStep</c> is also the initial sampler's version. Its <c>MinibatchesPerStep</c>, <c>SnapshotSamplerAfterEachStep</c> and
    /// <c>CancellationToken</c> are set by the pipeline.
    /// </summary>
    public TrainingStageOptions Training { get; init; } = new() { Loss = TrainingLoss.BuiltIn(LossFnType.ImportanceSampling) };

    /// <summary>Cancels the whole pipeline: every block ends cancelled and <see cref="RlPipeline{TItem, TRollout}.Completion"/> throws <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; init; }

    internal int EffectiveMaxConcurrentRollouts => MaxConcurrentRollouts ?? RolloutsPerStep * (MaxStaleness + 1);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(RolloutsPerStep, 1, nameof(RolloutsPerStep));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxStaleness, nameof(MaxStaleness));
        ArgumentOutOfRangeException.ThrowIfLessThan(MinibatchesPerStep, 1, nameof(MinibatchesPerStep));
        if (RolloutsPerStep % MinibatchesPerStep != 0)
        {
            throw new ArgumentException($"MinibatchesPerStep ({MinibatchesPerStep}) must divide RolloutsPerStep ({RolloutsPerStep}).", nameof(MinibatchesPerStep));
        }

        if (MaxConcurrentRollouts is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1, nameof(MaxConcurrentRollouts));
        }

        if (InputCapacity is { } capacity)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1, nameof(InputCapacity));
        }

        ArgumentNullException.ThrowIfNull(Training, nameof(Training));
    }
}
