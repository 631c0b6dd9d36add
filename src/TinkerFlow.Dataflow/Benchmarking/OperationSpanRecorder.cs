using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using TinkerFlow.Diagnostics;

namespace TinkerFlow.Dataflow;

/// <summary>Per operation: how many, and the median round trip, queue wait and engine time, in seconds.</summary>
/// <param name="Operation">The operation, e.g. <c>forward_backward</c>.</param>
/// <param name="Count">Completed client operations.</param>
/// <param name="RoundTrip">Median client span duration: from the call to the result.</param>
/// <param name="QueueWait">Median time in the backend's queue; null when no span reports it (a remote, out-of-process service).</param>
/// <param name="EngineTime">Median engine step duration; null when the engine's spans are not visible.</param>
public sealed record OperationTiming(string Operation, int Count, double RoundTrip, double? QueueWait, double? EngineTime);

/// <summary>
/// Records the spans of the "TinkerFlow" activity source (<see cref="TinkerFlowTelemetry"/>) and summarises the client
/// operations: round trip from the client spans, queue wait and engine time from the engine spans in the same trace
/// (visible for the embedded engine and for a server in the same process) or the client span's queue-wait tag.
/// </summary>
public sealed class OperationSpanRecorder : IDisposable
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ActivityListener _listener;

    /// <summary>Starts recording.</summary>
    public OperationSpanRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == TinkerFlowTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The spans stopped so far.</summary>
    public IReadOnlyList<Activity> Spans => [.. _spans];

    /// <summary>Forgets the spans recorded so far.</summary>
    public void Clear() => _spans.Clear();

    /// <summary>Summarises the client operations recorded so far, by operation name.</summary>
    /// <returns>One row per operation, in name order.</returns>
    public IReadOnlyList<OperationTiming> Summarize()
    {
        var spans = Spans;
        var engineByTrace = spans.Where(s => s.OperationName.StartsWith("engine.", StringComparison.Ordinal))
            .GroupBy(s => (s.TraceId, s.OperationName))
            .ToDictionary(g => g.Key, g => g.ToList());
        return spans.Where(s => s.Kind == ActivityKind.Client && s.Status != ActivityStatusCode.Error)
            .GroupBy(s => s.OperationName)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var waits = new List<double>();
                var engineTimes = new List<double>();
                foreach (var span in g)
                {
                    if (engineByTrace.TryGetValue((span.TraceId, "engine." + span.OperationName), out var steps))
                    {
                        waits.AddRange(steps.Select(e => QueueWaitSeconds(e)).OfType<double>());
                        engineTimes.AddRange(steps.Select(e => e.Duration.TotalSeconds));
                    }
                    else if (QueueWaitSeconds(span) is { } wait)
                    {
                        waits.Add(wait);
                    }
                }

                return new OperationTiming(
                    g.Key,
                    g.Count(),
                    StableMedian.Median(g.Select(s => s.Duration.TotalSeconds).ToList()),
                    waits.Count > 0 ? StableMedian.Median(waits) : null,
                    engineTimes.Count > 0 ? StableMedian.Median(engineTimes) : null);
            })
            .ToList();
    }

    /// <summary>Stops recording.</summary>
    public void Dispose() => _listener.Dispose();

    private static double? QueueWaitSeconds(Activity span) => span.GetTagItem(TinkerFlowTelemetry.QueueWaitTag) switch
    {
        double ms => ms / 1000,
        { } other when double.TryParse(Convert.ToString(other, CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) => ms / 1000,
        _ => null,
    };
}
