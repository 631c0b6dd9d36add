using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>
/// Per-step <see cref="AdamParams"/> for <see cref="TrainingStageOptions.AdamParams"/>: the cookbook's constant, linear
/// and cosine decays (lr_t = lr · m(t), T = total steps), with an optional linear warmup the cookbook lacks.
/// </summary>
public static class LearningRateSchedule
{
    /// <summary>The same parameters at every step.</summary>
    /// <param name="adamParams">The parameters.</param>
    /// <returns>A schedule.</returns>
    public static Func<int, AdamParams> Constant(AdamParams adamParams)
    {
        ArgumentNullException.ThrowIfNull(adamParams);
        return _ => adamParams;
    }

    /// <summary>Linear decay: m(t) = 1 − t/T, after <paramref name="warmupSteps"/> steps rising linearly from lr/warmup.</summary>
    /// <param name="adamParams">The parameters; <see cref="AdamParams.LearningRate"/> is the peak.</param>
    /// <param name="totalSteps">T, the planned number of steps.</param>
    /// <param name="warmupSteps">Warmup steps (0 = none).</param>
    /// <returns>A schedule.</returns>
    public static Func<int, AdamParams> Linear(AdamParams adamParams, int totalSteps, int warmupSteps = 0) =>
        Build(adamParams, totalSteps, warmupSteps, frac => 1 - frac);

    /// <summary>Cosine decay: m(t) = ½(1 + cos(π t/T)), after an optional linear warmup.</summary>
    /// <param name="adamParams">The parameters; <see cref="AdamParams.LearningRate"/> is the peak.</param>
    /// <param name="totalSteps">T, the planned number of steps.</param>
    /// <param name="warmupSteps">Warmup steps (0 = none).</param>
    /// <returns>A schedule.</returns>
    public static Func<int, AdamParams> Cosine(AdamParams adamParams, int totalSteps, int warmupSteps = 0) =>
        Build(adamParams, totalSteps, warmupSteps, frac => 0.5 * (1 + Math.Cos(Math.PI * frac)));

    private static Func<int, AdamParams> Build(AdamParams adamParams, int totalSteps, int warmupSteps, Func<double, double> decay)
    {
        ArgumentNullException.ThrowIfNull(adamParams);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(warmupSteps, totalSteps);
        return step =>
        {
            ArgumentOutOfRangeException.ThrowIfNegative(step);
            double multiplier;
            if (step < warmupSteps)
            {
                multiplier = (step + 1) / (double)warmupSteps;
            }
            else
            {
                var decaySteps = totalSteps - warmupSteps;
                var frac = decaySteps == 0 ? 1.0 : Math.Clamp((step - warmupSteps) / (double)decaySteps, 0, 1);
                multiplier = decay(frac);
            }

            return adamParams with { LearningRate = adamParams.LearningRate * Math.Max(0, multiplier) };
        };
    }
}
