using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>
/// A learning-rate schedule: lr_t = lr · m(t) for steps t = 0 … T−1 (the cookbook's <c>compute_schedule_lr_multiplier</c>,
/// plus the optional linear warmup users asked for).
/// </summary>
/// <remarks>
/// <para>
/// Warmup: for t &lt; W, m = (t + 1) / W, so the first step already moves and step W−1 reaches the full rate.
/// Decay: from t = W, p = (t − W) / (T − W) and m follows <see cref="Kind"/>. With W = 0 this is exactly the
/// cookbook's m = 1 − t/T (linear) or ½(1 + cos(πt/T)) (cosine). At t = T (one past the last step) m = 0 for both.
/// </para>
/// <para>The cookbook takes T = min(batches × epochs, max_steps).</para>
/// </remarks>
public sealed record LrSchedule
{
    /// <summary>Creates a schedule.</summary>
    /// <param name="kind">The decay shape.</param>
    /// <param name="learningRate">The peak learning rate, &gt;= 0.</param>
    /// <param name="totalSteps">T, the number of optimizer steps, at least 1.</param>
    /// <param name="warmupSteps">W, linear warmup steps, in [0, T).</param>
    public LrSchedule(LrScheduleKind kind, double learningRate, int totalSteps, int warmupSteps = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(learningRate);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (warmupSteps >= totalSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, $"warmupSteps must be smaller than totalSteps ({totalSteps}).");
        }

        Kind = kind;
        LearningRate = learningRate;
        TotalSteps = totalSteps;
        WarmupSteps = warmupSteps;
    }

    /// <summary>The decay shape.</summary>
    public LrScheduleKind Kind { get; }

    /// <summary>The peak learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>T, the number of optimizer steps.</summary>
    public int TotalSteps { get; }

    /// <summary>W, the number of linear warmup steps.</summary>
    public int WarmupSteps { get; }

    /// <summary>The multiplier m(t) in [0, 1].</summary>
    /// <param name="step">t, 0-based; values past T give 0 (constant: 1).</param>
    /// <returns>m(t).</returns>
    public double Multiplier(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < WarmupSteps)
        {
            return (step + 1) / (double)WarmupSteps;
        }

        var progress = Math.Min(1.0, (step - WarmupSteps) / (double)(TotalSteps - WarmupSteps));
        return Kind switch
        {
            LrScheduleKind.Constant => 1.0,
            LrScheduleKind.Linear => 1.0 - progress,
            LrScheduleKind.Cosine => 0.5 * (1.0 + Math.Cos(Math.PI * progress)),
            _ => throw new InvalidOperationException($"Unknown schedule kind {Kind}."),
        };
    }

    /// <summary>The learning rate at a step, lr · m(t).</summary>
    /// <param name="step">t, 0-based.</param>
    /// <returns>The learning rate.</returns>
    public double GetLr(int step) => LearningRate * Multiplier(step);

    /// <summary>The per-step Adam parameters for <see cref="TrainingStageOptions.AdamParams"/>: <paramref name="template"/> with this schedule's rate.</summary>
    /// <param name="template">Betas, epsilon and the rest; null for <c>new AdamParams()</c>.</param>
    /// <returns>step → parameters.</returns>
    public Func<int, AdamParams> ToAdamParams(AdamParams? template = null)
    {
        var baseParams = template ?? new AdamParams();
        return step => baseParams with { LearningRate = GetLr(step) };
    }

    /// <summary>One line for a pipeline description, e.g. <c>linear 0.002 over 240 steps</c>.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        FormattableString.Invariant($"{Kind.ToString().ToLowerInvariant()} {LearningRate:G4} over {TotalSteps} steps") + (WarmupSteps > 0 ? $", warmup {WarmupSteps}" : string.Empty);
}
