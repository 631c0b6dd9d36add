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
        if (crossEntropy && MeanNll(step.Minibatches, outputs) is { } nll)
        {
            metrics[MetricNames.TrainNll] = nll;
        }

        return metrics;
    }

    /// <summary>−Σ w·logp / Σ w over every datum that has <c>weights</c> and whose output has <c>logprobs</c>.</summary>
    public static double? MeanNll(IReadOnlyList<IReadOnlyList<Datum>> minibatches, IReadOnlyList<ForwardBackwardOutput> outputs)
    {
        double weighted = 0, total = 0;
        for (var m = 0; m < minibatches.Count && m < outputs.Count; m++)
        {
            var data = minibatches[m];
            var perDatum = outputs[m].LossFnOutputs;
            for (var i = 0; i < data.Count && i < perDatum.Count; i++)
            {
                if (!data[i].LossFnInputs.TryGetValue("weights", out var w) || !perDatum[i].TryGetValue("logprobs", out var lp))
                {
                    continue;
                }

                var weights = w.ToFloat32Array();
                var logprobs = lp.ToFloat32Array();
                var n = Math.Min(weights.Length, logprobs.Length);
                for (var t = 0; t < n; t++)
                {
                    weighted += weights[t] * logprobs[t];
                    total += weights[t];
                }
            }
        }

        return total > 0 ? -weighted / total : null;
    }
}
