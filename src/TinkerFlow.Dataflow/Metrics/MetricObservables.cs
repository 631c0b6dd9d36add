using System.Reactive.Concurrency;
using System.Reactive.Linq;

namespace TinkerFlow.Dataflow;

/// <summary>Rx operators over metric streams. Time-based ones take an <see cref="IScheduler"/> so tests run in virtual time.</summary>
public static class MetricObservables
{
    /// <summary>The values of one metric, with their steps, skipping records that lack it.</summary>
    /// <param name="source">A pipeline's metrics.</param>
    /// <param name="name">The metric, e.g. <see cref="MetricNames.TrainNll"/>.</param>
    /// <returns>(step, value) pairs.</returns>
    public static IObservable<(long Step, double Value)> Values(this IObservable<MetricRecord> source, string name)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return source.Where(r => r.Metrics.ContainsKey(name)).Select(r => (r.Step, r.Metrics[name]));
    }

    /// <summary>
    /// Averages every metric over consecutive time windows: at the end of each window holding at least one record,
    /// emits one record whose step is the window's last step and whose values are the means over the records that
    /// carried each metric.
    /// </summary>
    /// <param name="source">A pipeline's metrics.</param>
    /// <param name="window">The window length.</param>
    /// <param name="scheduler">The clock (e.g. <see cref="Scheduler.Default"/>; a <see cref="HistoricalScheduler"/> in tests).</param>
    /// <returns>One averaged record per non-empty window, timestamped at the window's end.</returns>
    public static IObservable<MetricRecord> WindowedMean(this IObservable<MetricRecord> source, TimeSpan window, IScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        return source
            .Buffer(window, scheduler)
            .Where(batch => batch.Count > 0)
            .Select(batch =>
            {
                var sums = new Dictionary<string, (double Sum, int Count)>(StringComparer.Ordinal);
                foreach (var record in batch)
                {
                    foreach (var (key, value) in record.Metrics)
                    {
                        sums[key] = sums.TryGetValue(key, out var s) ? (s.Sum + value, s.Count + 1) : (value, 1);
                    }
                }

                IReadOnlyDictionary<string, double> means = sums.ToDictionary(kv => kv.Key, kv => kv.Value.Sum / kv.Value.Count, StringComparer.Ordinal);
                return new MetricRecord(batch[^1].Step, means, scheduler.Now);
            });
    }
}
