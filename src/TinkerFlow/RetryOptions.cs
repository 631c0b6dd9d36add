namespace TinkerFlow;

/// <summary>
/// Retry policy for transient failures (connection errors, timeouts, 408, 409, 429, 5xx) of requests to a remote
/// Tinker service. The embedded engine does not need retries.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="MaxRetries"/></term><description>10 (low-level attempts per request)</description></item>
/// <item><term><see cref="Delay"/></term><description>0.5 s, doubled per attempt</description></item>
/// <item><term><see cref="MaxDelay"/></term><description>10 s</description></item>
/// <item><term><see cref="JitterFactor"/></term><description>0.25</description></item>
/// <item><term><see cref="TotalTimeout"/></term><description>300 s for the outer retry loop</description></item>
/// </list>
/// </remarks>
public sealed class RetryOptions
{
    private int _maxRetries = 10;
    private TimeSpan _delay = TimeSpan.FromSeconds(0.5);
    private TimeSpan _maxDelay = TimeSpan.FromSeconds(10);
    private double _jitterFactor = 0.25;
    private TimeSpan _totalTimeout = TimeSpan.FromSeconds(300);

    internal bool Frozen { get; set; }

    /// <summary>Maximum low-level retries per HTTP request (0 disables them).</summary>
    public int MaxRetries
    {
        get => _maxRetries;
        set { ThrowIfFrozen(); ArgumentOutOfRangeException.ThrowIfNegative(value); _maxRetries = value; }
    }

    /// <summary>The first back-off delay; doubled on each further attempt.</summary>
    public TimeSpan Delay
    {
        get => _delay;
        set { ThrowIfFrozen(); ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero); _delay = value; }
    }

    /// <summary>The largest back-off delay.</summary>
    public TimeSpan MaxDelay
    {
        get => _maxDelay;
        set { ThrowIfFrozen(); ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero); _maxDelay = value; }
    }

    /// <summary>Random jitter subtracted from each delay, as a fraction of it (0 to 1).</summary>
    public double JitterFactor
    {
        get => _jitterFactor;
        set
        {
            ThrowIfFrozen();
            if (!(value >= 0 && value <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "JitterFactor must be between 0 and 1.");
            }

            _jitterFactor = value;
        }
    }

    /// <summary>How long the outer retry loop keeps retrying a call before giving up.</summary>
    public TimeSpan TotalTimeout
    {
        get => _totalTimeout;
        set { ThrowIfFrozen(); ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero); _totalTimeout = value; }
    }

    internal RetryOptions Clone() => new()
    {
        _maxRetries = _maxRetries,
        _delay = _delay,
        _maxDelay = _maxDelay,
        _jitterFactor = _jitterFactor,
        _totalTimeout = _totalTimeout,
    };

    private void ThrowIfFrozen()
    {
        if (Frozen)
        {
            throw new InvalidOperationException("These options belong to a client that has been built and can no longer change. Create new TinkerClientOptions instead.");
        }
    }
}
