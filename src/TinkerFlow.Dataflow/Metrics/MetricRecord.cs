namespace TinkerFlow.Dataflow;

/// <summary>
/// The metrics of one step, as published by a pipeline's <c>Metrics</c> observable and written as one line of
/// <c>metrics.jsonl</c>.
/// </summary>
/// <param name="Step">The 0-based training step the metrics belong to.</param>
/// <param name="Metrics">Metric values by slash-namespaced name (see <see cref="MetricNames"/>), e.g. <c>train/nll</c>.</param>
/// <param name="Timestamp">When the record was produced (from the pipeline's <see cref="TimeProvider"/>).</param>
public sealed record MetricRecord(long Step, IReadOnlyDictionary<string, double> Metrics, DateTimeOffset Timestamp)
{
    /// <summary>Returns one metric, or null when the record does not carry it.</summary>
    /// <param name="name">The metric name, e.g. <see cref="MetricNames.TrainNll"/>.</param>
    /// <returns>The value, or null.</returns>
    public double? Get(string name) => Metrics.TryGetValue(name, out var value) ? value : null;
}
