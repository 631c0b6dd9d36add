using TinkerFlow.Cookbook.Data;
using TinkerFlow.Dataflow;

namespace TinkerFlow.Cookbook.Trainers;

/// <summary>
/// Preference training (DPO) as one Dataflow graph: a <see cref="SupervisedTrainer"/> whose source is a
/// <see cref="PreferenceDataset{TPair}"/>, whose batches close only at whole batches of pairs (never between a chosen
/// and its rejected answer), and whose loss is the caller's client-side pair loss (e.g. a TorchSharp DPO loss through
/// <c>TinkerFlow.Torch</c>'s <c>ForwardBackwardCustomAsync</c>). The loss's own metrics (e.g. <c>dpo_loss</c>,
/// <c>accuracy</c>, <c>margin</c>) are published under their own names.
/// </summary>
/// <remarks>
/// Resume is the supervised trainer's: start it from <see cref="TrainerRun.StartOrResumeAsync"/> and it continues with
/// the same weights, optimizer state and pairs. It keeps no random state: batch i of epoch e is pairs
/// <c>[i·P, (i+1)·P)</c> of a shuffle seeded with seed + e (a pure function of both), and the checkpoint's loop state
/// records (epoch, batch, step). A pair builder that adds model scores (a reference model's) should make them a pure
/// function of the pair, or cache them, so a resumed run trains on the same values.
/// </remarks>
public sealed class PreferenceTrainer
{
    private readonly SupervisedTrainer _trainer;

    /// <summary>Builds the graph.</summary>
    /// <typeparam name="TPair">The pair type.</typeparam>
    /// <param name="run">The client and loop state to start from.</param>
    /// <param name="dataset">The pairs.</param>
    /// <param name="loss">The pair loss (a <see cref="TrainingLoss.Custom"/> submission).</param>
    /// <param name="lossMetrics">The loss's metric names to publish unprefixed (they are averaged over a step's minibatches).</param>
    /// <param name="options">Schedule, evaluations, checkpoints; its <c>Loss</c> and <c>Batching</c> are set here, and its <c>StepMetrics</c> (if any) join the loss's metrics.</param>
    /// <returns>The trainer.</returns>
    public static PreferenceTrainer Create<TPair>(TrainerRun run, PreferenceDataset<TPair> dataset, TrainingLoss loss, IReadOnlyList<string> lossMetrics, SupervisedTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(lossMetrics);
        ArgumentNullException.ThrowIfNull(options);
        return new PreferenceTrainer(new SupervisedTrainer(run, dataset, options with
        {
            Loss = loss,
            Batching = new DatumBatcherOptions { MaxItems = 2 * dataset.PairsPerBatch, MaxTokens = int.MaxValue, InputCapacity = 2 * dataset.PairsPerBatch },
            StepMetrics = result =>
            {
                var metrics = lossMetrics
                    .Where(name => result.ForwardBackward.All(o => o.Metrics.ContainsKey(name)))
                    .ToDictionary(name => name, name => result.ForwardBackward.Average(o => o.Metrics[name]));
                foreach (var (key, value) in options.StepMetrics?.Invoke(result) ?? new Dictionary<string, double>())
                {
                    metrics[key] = value;
                }

                return metrics;
            },
        }));
    }

    private PreferenceTrainer(SupervisedTrainer trainer) => _trainer = trainer;

    /// <summary>One record per step, then the final evaluation's record.</summary>
    public IObservable<MetricRecord> Metrics => _trainer.Metrics;

    /// <summary>Runs until <c>MaxSteps</c>.</summary>
    /// <returns>A task that surfaces the graph's first fault.</returns>
    public Task RunAsync() => _trainer.RunAsync();

    /// <summary>The graph, block by block.</summary>
    /// <param name="sourceName">What the pairs are.</param>
    /// <returns>Several lines.</returns>
    public string Describe(string sourceName) => _trainer.Describe(sourceName);
}
