using System.Diagnostics;
using System.Globalization;

namespace TinkerFlow.Local.Tests.Backend;

/// <summary>Assertion helpers over the spans an <see cref="TinkerFlow.Dataflow.OperationSpanRecorder"/> records.</summary>
public static class SpanCollector
{
    /// <summary>One line per span: name, kind, and its tinkerflow.* tags, for assertion messages.</summary>
    public static string Describe(IEnumerable<Activity> spans) => string.Join(
        Environment.NewLine,
        spans.Select(s => $"{s.DisplayName} [{s.Kind}] trace={s.TraceId} " + string.Join(' ', s.TagObjects.Where(t => t.Key.StartsWith("tinkerflow.", StringComparison.Ordinal)).Select(t => $"{t.Key}={Convert.ToString(t.Value, CultureInfo.InvariantCulture)}"))));
}
