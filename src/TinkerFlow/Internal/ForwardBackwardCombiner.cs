using TinkerFlow.Types;

namespace TinkerFlow.Internal;

/// <summary>
/// Combines the results of the chunks of one call (wire-protocol §10.2): outputs concatenated in order, the first
/// chunk's output type, and metrics reduced by the suffix after the colon.
/// </summary>
internal static class ForwardBackwardCombiner
{
    public static ForwardBackwardOutput Combine(IReadOnlyList<ForwardBackwardOutput> chunks)
    {
        if (chunks.Count == 0)
        {
            throw new ArgumentException("At least one chunk result is needed.", nameof(chunks));
        }

        if (chunks.Count == 1)
        {
            return chunks[0];
        }

        var outputs = new List<IReadOnlyDictionary<string, TensorData>>();
        foreach (var chunk in chunks)
        {
            outputs.AddRange(chunk.LossFnOutputs);
        }

        return new ForwardBackwardOutput
        {
            LossFnOutputType = chunks[0].LossFnOutputType,
            LossFnOutputs = outputs,
            Metrics = CombineMetrics(chunks.Select(c => c.Metrics).ToList(), chunks.Select(c => c.LossFnOutputs.Count).ToList()),
        };
    }

    /// <summary>Reduces per-chunk metrics; <paramref name="weights"/> are the datum counts used by <c>mean</c> and <c>slack</c>.</summary>
    public static Dictionary<string, double> CombineMetrics(IReadOnlyList<IReadOnlyDictionary<string, double>> metrics, IReadOnlyList<int> weights)
    {
        var result = new Dictionary<string, double>();
        if (metrics.Count == 0)
        {
            return result;
        }

        foreach (var key in metrics[0].Keys)
        {
            if (!metrics.All(m => m.ContainsKey(key)))
            {
                continue;
            }

            var values = metrics.Select(m => m[key]).ToArray();
            var colon = key.IndexOf(':', StringComparison.Ordinal);
            var reduction = colon < 0 ? string.Empty : key[(colon + 1)..];
            switch (reduction)
            {
                case "sum":
                    result[key] = values.Sum();
                    break;
                case "mean":
                    result[key] = WeightedMean(values, weights);
                    break;
                case "min":
                    result[key] = values.Min();
                    break;
                case "max":
                    result[key] = values.Max();
                    break;
                case "slack":
                    result[key] = values.Max() - WeightedMean(values, weights);
                    break;
                case "unique":
                    result[key] = values[0];
                    for (var i = 1; i < values.Length; i++)
                    {
                        result[$"{key}_{i + 1}"] = values[i];
                    }

                    break;
                default:
                    // hash_unordered (not portable) and unknown reductions are dropped, as the SDK does.
                    break;
            }
        }

        return result;
    }

    private static double WeightedMean(double[] values, IReadOnlyList<int> weights)
    {
        double total = 0, weightSum = 0;
        for (var i = 0; i < values.Length; i++)
        {
            total += values[i] * weights[i];
            weightSum += weights[i];
        }

        return weightSum == 0 ? values.Average() : total / weightSum;
    }
}
