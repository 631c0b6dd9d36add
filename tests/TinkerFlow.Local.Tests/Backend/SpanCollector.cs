using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using TinkerFlow.Diagnostics;

namespace TinkerFlow.Local.Tests.Backend;

/// <summary>Records every stopped span of the "TinkerFlow" activity source while it lives.</summary>
public sealed class SpanCollector : IDisposable
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ActivityListener _listener;

    public SpanCollector()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == TinkerFlowTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyList<Activity> Spans => [.. _spans];

    /// <summary>One line per span: name, kind, and its tinkerflow.* tags, for assertion messages.</summary>
    public static string Describe(IEnumerable<Activity> spans) => string.Join(
        Environment.NewLine,
        spans.Select(s => $"{s.DisplayName} [{s.Kind}] trace={s.TraceId} " + string.Join(' ', s.TagObjects.Where(t => t.Key.StartsWith("tinkerflow.", StringComparison.Ordinal)).Select(t => $"{t.Key}={Convert.ToString(t.Value, CultureInfo.InvariantCulture)}"))));

    public void Dispose() => _listener.Dispose();
}
