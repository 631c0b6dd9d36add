namespace TinkerFlow;

/// <summary>
/// How a <see cref="SamplingClient"/> retries a whole sample (submit plus wait) after a transient failure
/// (the Python SDK's <c>RetryConfig</c>).
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="MaxConnections"/></term><description>1000 concurrent samples per client</description></item>
/// <item><term><see cref="ProgressTimeout"/></term><description>7200 s without any completed sample</description></item>
/// <item><term><see cref="RetryDelayBase"/></term><description>0.5 s, doubled per attempt</description></item>
/// <item><term><see cref="RetryDelayMax"/></term><description>10 s</description></item>
/// <item><term><see cref="JitterFactor"/></term><description>0.25</description></item>
/// <item><term><see cref="EnableRetryLogic"/></term><description>true</description></item>
/// </list>
/// </remarks>
public sealed record SamplingRetryConfig
{
    /// <summary>The most samples of one client in flight at once.</summary>
    public int MaxConnections { get; init; } = 1000;

    /// <summary>Pending samples fail when none of the client's samples has completed for this long.</summary>
    public TimeSpan ProgressTimeout { get; init; } = TimeSpan.FromSeconds(7200);

    /// <summary>The first retry delay; doubled per attempt.</summary>
    public TimeSpan RetryDelayBase { get; init; } = TimeSpan.FromSeconds(0.5);

    /// <summary>The largest retry delay.</summary>
    public TimeSpan RetryDelayMax { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Uniform jitter of ± this fraction of each delay.</summary>
    public double JitterFactor { get; init; } = 0.25;

    /// <summary>When false, a failed sample is not retried.</summary>
    public bool EnableRetryLogic { get; init; } = true;

    internal void Validate()
    {
        if (MaxConnections < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "SamplingRetryConfig.MaxConnections must be at least 1.");
        }

        if (JitterFactor is < 0 or > 1 || double.IsNaN(JitterFactor))
        {
            throw new ArgumentOutOfRangeException(nameof(JitterFactor), JitterFactor, "SamplingRetryConfig.JitterFactor must be between 0 and 1.");
        }

        if (RetryDelayBase < TimeSpan.Zero || RetryDelayMax < TimeSpan.Zero || ProgressTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryDelayBase), "SamplingRetryConfig delays must be non-negative and ProgressTimeout positive.");
        }
    }

    internal TimeSpan DelayFor(int attempt, Random random)
    {
        var d = Math.Min(RetryDelayBase.TotalSeconds * Math.Pow(2, attempt), RetryDelayMax.TotalSeconds);
        d += d * JitterFactor * ((random.NextDouble() * 2) - 1);
        return TimeSpan.FromSeconds(Math.Clamp(d, 0, RetryDelayMax.TotalSeconds));
    }
}
