namespace TinkerFlow.Dataflow;

/// <summary>Where a <see cref="StepBarrier"/> runs: after exactly <see cref="Step"/> applied steps.</summary>
/// <param name="Step">The global step about to be trained (or, at the end, the number of steps trained).</param>
/// <param name="DatumsTrained">Datums trained by this stage before the boundary (steps <c>FirstStep</c> … <c>Step − 1</c>).</param>
/// <param name="TokensTrained">Model-input tokens of those datums.</param>
/// <param name="IsFinal">True after the last step.</param>
/// <param name="Sampler">With <see cref="TrainingStageOptions.SnapshotSamplerAfterEachStep"/>, the sampler on exactly these weights; null before this stage's first step.</param>
public sealed record StepBoundary(int Step, long DatumsTrained, long TokensTrained, bool IsFinal, SamplingClient? Sampler = null);

/// <summary>
/// Work a <see cref="TrainingStage"/> runs between steps (see <see cref="TrainingStageOptions.Barriers"/>): the stage
/// drains every in-flight step first, so the work sees the weights after exactly <see cref="StepBoundary.Step"/> steps.
/// </summary>
/// <param name="Name">Shown by pipeline descriptions, e.g. <c>eval test/nll every 40</c>.</param>
/// <param name="IsDue">Whether the barrier runs before a global step.</param>
/// <param name="RunAsync">The work; returns metrics for the step's record, or null.</param>
public sealed record StepBarrier(
    string Name,
    Func<int, bool> IsDue,
    Func<StepBoundary, CancellationToken, Task<IReadOnlyDictionary<string, double>?>> RunAsync)
{
    /// <summary>Also run after the last step (final evaluation, final checkpoint).</summary>
    public bool AtEnd { get; init; } = true;

    /// <summary>The name.</summary>
    /// <returns><see cref="Name"/>.</returns>
    public override string ToString() => Name;
}
