namespace TinkerFlow.Benchmarks.Engine;

/// <summary>Small statistics helpers for timings.</summary>
internal static class Stats
{
    /// <summary>The median (mean of the two middle values for an even count); the Dataflow library's, shared with <c>tinkerflow bench</c>.</summary>
    public static double Median(IReadOnlyCollection<double> values) => TinkerFlow.Dataflow.StableMedian.Median(values);

    /// <summary>Formats seconds as "1.234 s" / "56.7 ms" (invariant culture).</summary>
    public static string Seconds(double seconds) => seconds >= 1
        ? FormattableString.Invariant($"{seconds:0.000} s")
        : FormattableString.Invariant($"{seconds * 1000:0.0} ms");

    /// <summary>Times <paramref name="action"/> once, in seconds.</summary>
    public static double Time(Action action)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        action();
        return System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
