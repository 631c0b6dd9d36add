namespace TinkerFlow.Dataflow;

/// <summary>The median of repeated measurements, and whether it settled.</summary>
/// <param name="Median">The median of <paramref name="Samples"/>.</param>
/// <param name="Samples">Every measurement, in order.</param>
/// <param name="Stable">True when the last repeat moved the median by less than the tolerance.</param>
public sealed record StableMedianResult(double Median, IReadOnlyList<double> Samples, bool Stable);

/// <summary>Repeats a measurement until its median is stable: the newest sample moves it by less than a tolerance.</summary>
public static class StableMedian
{
    /// <summary>Measures at least <paramref name="minRepeats"/> times and at most <paramref name="maxRepeats"/> times.</summary>
    /// <param name="measure">One measurement (e.g. tokens/s of one run).</param>
    /// <param name="minRepeats">Runs before stability is checked (at least 1).</param>
    /// <param name="maxRepeats">The most runs.</param>
    /// <param name="tolerance">Relative change of the median that counts as stable (e.g. 0.05).</param>
    /// <param name="cancellationToken">Cancels between runs.</param>
    /// <returns>The median, the samples and whether it settled.</returns>
    public static async Task<StableMedianResult> MeasureAsync(Func<CancellationToken, Task<double>> measure, int minRepeats, int maxRepeats, double tolerance, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(measure);
        ArgumentOutOfRangeException.ThrowIfLessThan(minRepeats, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRepeats, minRepeats);
        ArgumentOutOfRangeException.ThrowIfNegative(tolerance);
        var samples = new List<double>();
        var previous = double.NaN;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            samples.Add(await measure(cancellationToken).ConfigureAwait(false));
            var median = Median(samples);
            var stable = samples.Count >= Math.Max(2, minRepeats) && Math.Abs(median - previous) <= tolerance * Math.Abs(previous);
            if (stable || samples.Count >= maxRepeats)
            {
                return new StableMedianResult(median, samples, stable);
            }

            previous = median;
        }
    }

    /// <summary>The median (mean of the two middle values for an even count).</summary>
    /// <param name="values">At least one value.</param>
    /// <returns>The median.</returns>
    public static double Median(IReadOnlyCollection<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("No values.", nameof(values));
        }

        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
