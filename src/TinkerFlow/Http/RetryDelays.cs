using System.Globalization;

namespace TinkerFlow.Http;

/// <summary>The delay formulas of the retry layers (wire spec §4.3, §5).</summary>
internal static class RetryDelays
{
    /// <summary>Longest server-requested delay that is honoured; longer (or non-positive) values fall back to back-off.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    /// <summary>Layer A back-off: <c>min(Delay·2^k, MaxDelay)·(1 − JitterFactor·U)</c>, k = retries already taken.</summary>
    /// <param name="options">The retry options.</param>
    /// <param name="retriesTaken">k.</param>
    /// <param name="uniform">A uniform sample in [0, 1).</param>
    public static TimeSpan LowLevel(RetryOptions options, int retriesTaken, double uniform)
    {
        var seconds = Math.Min(options.Delay.TotalSeconds * Math.Pow(2, retriesTaken), options.MaxDelay.TotalSeconds);
        return TimeSpan.FromSeconds(seconds * (1 - (options.JitterFactor * uniform)));
    }

    /// <summary>Layer B / retrieve-loop back-off: <c>min(2^n, 30)</c> seconds.</summary>
    /// <param name="n">Failures so far (0-based).</param>
    public static TimeSpan Exponential(int n) => TimeSpan.FromSeconds(Math.Min(Math.Pow(2, Math.Min(n, 10)), 30));

    /// <summary>
    /// The server-requested delay from <c>retry-after-ms</c> (milliseconds) or <c>retry-after</c> (seconds, fractions
    /// allowed, or an HTTP date), when it lies in (0, 60] seconds; otherwise null.
    /// </summary>
    /// <param name="reply">The answer.</param>
    /// <param name="now">The current time, for HTTP dates.</param>
    public static TimeSpan? FromHeaders(HttpReply reply, DateTimeOffset now)
    {
        TimeSpan? delay = null;
        if (reply.Header("retry-after-ms") is { } ms && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var millis))
        {
            delay = double.IsFinite(millis) ? TimeSpan.FromMilliseconds(Math.Clamp(millis, -1e9, 1e9)) : null;
        }
        else if (reply.Header("retry-after") is { } value)
        {
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            {
                delay = double.IsFinite(seconds) ? TimeSpan.FromSeconds(Math.Clamp(seconds, -1e6, 1e6)) : null;
            }
            else if (DateTimeOffset.TryParseExact(value.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
                     || DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out date))
            {
                delay = date - now;
            }
        }

        return delay is { } d && d > TimeSpan.Zero && d <= MaxRetryAfter ? d : null;
    }
}
