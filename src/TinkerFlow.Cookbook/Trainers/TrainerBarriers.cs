using System.Diagnostics;
using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Dataflow;

namespace TinkerFlow.Cookbook.Trainers;

/// <summary>The step barriers the trainers share: evaluations and checkpoints, run by the graph at step boundaries.</summary>
public static class TrainerBarriers
{
    /// <summary>Evaluations every <paramref name="every"/> steps (steps that are multiples of it, step 0 included) and after the last step; <c>time/eval</c> joins their metrics.</summary>
    /// <param name="client">The client whose weights are evaluated.</param>
    /// <param name="evaluations">The evaluations, run in order.</param>
    /// <param name="every">The cadence; 0 = only after the last step.</param>
    /// <returns>The barrier.</returns>
    public static StepBarrier Evaluate(TrainingClient client, IReadOnlyList<TrainerEvaluation> evaluations, int every)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(evaluations);
        ArgumentOutOfRangeException.ThrowIfNegative(every);
        return new StepBarrier(
            $"evaluate {string.Join(", ", evaluations.Select(e => e.Name))} {(every > 0 ? $"every {every} steps" : "at the end")}",
            step => every > 0 && step % every == 0,
            async (_, ct) =>
            {
                var started = Stopwatch.GetTimestamp();
                var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var evaluation in evaluations)
                {
                    foreach (var (key, value) in await evaluation.RunAsync(client, ct).ConfigureAwait(false))
                    {
                        metrics[key] = value;
                    }
                }

                metrics[MetricNames.TimeEval] = Stopwatch.GetElapsedTime(started).TotalSeconds;
                return metrics;
            });
    }

    /// <summary>Periodic and rolling checkpoints when due (never at the run's first step), and the final checkpoint after the last step.</summary>
    /// <param name="checkpoints">The manager (cadences, TTLs, <c>checkpoints.jsonl</c>).</param>
    /// <param name="firstStep">The run's first step (a resumed run does not save again where it resumed).</param>
    /// <param name="stateAt">The loop state at a boundary: data cursor, step, tokens (and, for a loop that keeps one, its generator's seed and state).</param>
    /// <returns>The barrier.</returns>
    public static StepBarrier Checkpoint(CheckpointManager checkpoints, int firstStep, Func<StepBoundary, LoopState> stateAt)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentNullException.ThrowIfNull(stateAt);
        var o = checkpoints.Options;
        return new StepBarrier(
            $"checkpoint every {o.SaveEvery} steps{(o.RollingSaveEvery > 0 ? $", rolling every {o.RollingSaveEvery}" : string.Empty)} → checkpoints.jsonl (final one after the last step)",
            step => step > firstStep && checkpoints.KindDueAt(step) is not null,
            async (boundary, ct) =>
            {
                var state = stateAt(boundary);
                _ = boundary.IsFinal
                    ? await checkpoints.SaveFinalAsync(state, ct).ConfigureAwait(false)
                    : await checkpoints.MaybeSaveAsync(state, ct).ConfigureAwait(false);
                return null;
            });
    }
}
