using MathNet.Numerics.Distributions;
using MathNet.Numerics.Statistics;

namespace TinkerFlow.Cookbook.Evaluation;

/// <summary>A sample mean with a two-sided Student-t confidence interval.</summary>
/// <param name="Mean">The sample mean.</param>
/// <param name="Lower">The interval's lower bound (NaN with fewer than 2 values).</param>
/// <param name="Upper">The interval's upper bound (NaN with fewer than 2 values).</param>
/// <param name="Count">Number of values.</param>
/// <param name="Level">The confidence level, e.g. 0.95.</param>
public sealed record ConfidenceInterval(double Mean, double Lower, double Upper, int Count, double Level)
{
    /// <summary>Half the interval's width.</summary>
    public double HalfWidth => (Upper - Lower) / 2;

    /// <summary>Computes mean ± t(1 − α/2, n − 1) · s / √n, with s the sample standard deviation.</summary>
    /// <param name="values">The values (e.g. per-problem scores).</param>
    /// <param name="level">The confidence level in (0, 1); 0.95 by default.</param>
    /// <returns>The interval; NaN mean for no values, NaN bounds for one value.</returns>
    public static ConfidenceInterval Of(IReadOnlyList<double> values, double level = 0.95)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (level is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(level), level, "level must be in (0, 1), e.g. 0.95.");
        }

        var n = values.Count;
        if (n == 0)
        {
            return new ConfidenceInterval(double.NaN, double.NaN, double.NaN, 0, level);
        }

        var mean = values.Mean();
        if (n == 1)
        {
            return new ConfidenceInterval(mean, double.NaN, double.NaN, 1, level);
        }

        var standardError = values.StandardDeviation() / Math.Sqrt(n);
        var t = StudentT.InvCDF(0, 1, n - 1, 1 - ((1 - level) / 2));
        return new ConfidenceInterval(mean, mean - (t * standardError), mean + (t * standardError), n, level);
    }
}
