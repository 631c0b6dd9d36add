namespace TinkerFlow.Benchmarks.Engine;

/// <summary>The machine's load averages from <c>/proc/loadavg</c> (Linux only).</summary>
internal static class LoadAverage
{
    /// <summary>"1-min 5-min 15-min", or "n/a".</summary>
    public static string All()
    {
        const string path = "/proc/loadavg";
        return File.Exists(path) ? string.Join(' ', File.ReadAllText(path).Split(' ').Take(3)) : "n/a";
    }

    /// <summary>The 1-minute load average as text, or "n/a".</summary>
    public static string OneMinute() => All().Split(' ')[0];

    /// <summary>The 1-minute load average, or null.</summary>
    public static double? OneMinuteValue() =>
        double.TryParse(OneMinute(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) ? v : null;
}
