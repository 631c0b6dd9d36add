using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>
/// Training-loop throughput on any backend, shared by <c>tinkerflow bench</c> and the benchmarks: a sequential loop
/// (submit forward_backward, await it, submit optim_step, await it) and the Dataflow <see cref="TrainingStage"/> with a
/// submit-ahead depth. Rates are steady-state: (steps − 1) ÷ (last completion − first completion), so pipeline fill
/// and drain are not counted.
/// </summary>
public static class TrainingThroughput
{
    /// <summary>Submit, await, submit, await, <paramref name="steps"/> times.</summary>
    /// <param name="training">The training client.</param>
    /// <param name="batch">The batch of every step.</param>
    /// <param name="steps">Steps to run (at least 2).</param>
    /// <param name="adamParams">The optimizer settings (default: learning rate 1e-4).</param>
    /// <param name="cancellationToken">Cancels the loop.</param>
    /// <returns>Steady-state steps per second.</returns>
    public static async Task<double> SequentialAsync(TrainingClient training, IReadOnlyList<Datum> batch, int steps, AdamParams? adamParams = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 2);
        adamParams ??= new AdamParams { LearningRate = 1e-4 };
        var completions = new List<long>(steps);
        for (var i = 0; i < steps; i++)
        {
            await training.ForwardBackwardAsync(WaitUntil.Completed, batch, LossFnType.CrossEntropy, cancellationToken: cancellationToken).ConfigureAwait(false);
            await training.OptimStepAsync(WaitUntil.Completed, adamParams, cancellationToken).ConfigureAwait(false);
            completions.Add(Stopwatch.GetTimestamp());
        }

        return SteadyRate(completions);
    }

    /// <summary>The Dataflow training stage with <paramref name="submitAhead"/> further steps queued while one is awaited.</summary>
    /// <param name="training">The training client.</param>
    /// <param name="batch">The batch of every step.</param>
    /// <param name="steps">Steps to run (at least 2).</param>
    /// <param name="submitAhead">The stage's <see cref="TrainingStageOptions.SubmitAhead"/> (0 = both operations of a step submitted back to back, then awaited).</param>
    /// <param name="adamParams">The optimizer settings (default: learning rate 1e-4).</param>
    /// <param name="cancellationToken">Cancels the stage.</param>
    /// <returns>Steady-state steps per second.</returns>
    public static async Task<double> PipelinedAsync(TrainingClient training, IReadOnlyList<Datum> batch, int steps, int submitAhead, AdamParams? adamParams = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(submitAhead);
        var adam = adamParams ?? new AdamParams { LearningRate = 1e-4 };
        var stage = new TrainingStage(training, new TrainingStageOptions
        {
            SubmitAhead = submitAhead,
            InputCapacity = steps,
            AdamParams = _ => adam,
            CancellationToken = cancellationToken,
        });
        var completions = new List<long>(steps);
        var sink = new ActionBlock<TrainStepResult>(_ => completions.Add(Stopwatch.GetTimestamp()), new ExecutionDataflowBlockOptions { BoundedCapacity = steps });
        stage.Output.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        for (var i = 0; i < steps; i++)
        {
            await stage.Input.SendAsync(batch, cancellationToken).ConfigureAwait(false);
        }

        stage.Input.Complete();
        await stage.Completion.ConfigureAwait(false);
        await sink.Completion.ConfigureAwait(false);
        return SteadyRate(completions);
    }

    /// <summary>(n − 1) ÷ the time between the first and the last of <paramref name="completionTimestamps"/> (<see cref="Stopwatch"/> ticks).</summary>
    /// <param name="completionTimestamps">When each step completed, in order.</param>
    /// <returns>Steps per second.</returns>
    public static double SteadyRate(IReadOnlyList<long> completionTimestamps)
    {
        ArgumentNullException.ThrowIfNull(completionTimestamps);
        if (completionTimestamps.Count < 2)
        {
            throw new InvalidOperationException($"Need at least 2 completed steps to measure a rate, got {completionTimestamps.Count}.");
        }

        return (completionTimestamps.Count - 1) / Stopwatch.GetElapsedTime(completionTimestamps[0], completionTimestamps[^1]).TotalSeconds;
    }
}
