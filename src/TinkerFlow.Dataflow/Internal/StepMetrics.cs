using TinkerFlow.Types;

namespace TinkerFlow.Dataflow.Internal;

/// <summary>Builds the per-step metric dictionary of the training stage.</summary>
internal static class StepMetrics
{
    public static Dictionary<string, double> Build(
        PendingStep step,
        IReadOnlyList<ForwardBackwardOutput> outputs,
        OptimStepResponse optim,
        DateTimeOffset completedAt,
        DateTimeOffset firstSubmittedAt,
        int stepsInFlight,
        int? totalSteps,
        bool crossEntropy)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var output in outputs)
        {
            foreach (var (key, value) in output.Metrics)
            {
                // Sum-reduced metrics add up over minibatches; anything else keeps the last minibatch's value.
                var name = "train/" + key;
                metrics[name] = key.EndsWith(":sum", StringComparison.Ordinal) && metrics.TryGetValue(name, out var prior) ? prior + value : value;
            }
        }

        if (optim.Metrics is { } optimMetrics)
        {
            foreach (var (key, value) in optimMetrics)
            {
                metrics["optim/" + key] = value;
            }
        }

        var datums = 0;
        var tokens = 0L;
        foreach (var minibatch in step.Minibatches)
        {
            datums += minibatch.Count;
            foreach (var datum in minibatch)
            {
                tokens += datum.ModelInput.Length;
            }
        }

        metrics[MetricNames.TrainNumDatums] = datums;
        metrics[MetricNames.TrainNumTokens] = tokens;
        metrics[MetricNames.TrainNumMinibatches] = step.Minibatches.Count;
        metrics[MetricNames.OptimLr] = step.AdamParams!.LearningRate;
        metrics[MetricNames.ProgressStep] = step.Step;
        metrics[MetricNames.ProgressStepsInFlight] = stepsInFlight;
        if (totalSteps is { } total)
        {
            metrics[MetricNames.ProgressDoneFrac] = Math.Min(1.0, (step.Step + 1) / (double)total);
        }

        metrics[MetricNames.TimeStep] = (completedAt - step.SubmittedAt).TotalSeconds;
        metrics[MetricNames.TimeTotal] = (completedAt - firstSubmittedAt).TotalSeconds;
        if (crossEntropy && step.Minibatches.All(m => m.All(d => d.LossFnInputs.ContainsKey("weights"))))
        {
            metrics[MetricNames.TrainNll] = NllMetrics.MeanNll(step.Minibatches, outputs);
        }

        if (step.BoundaryMetrics is { } boundary)
        {
            foreach (var (key, value) in boundary)
            {
                metrics[key] = value;
            }
        }

        return metrics;
    }
}
