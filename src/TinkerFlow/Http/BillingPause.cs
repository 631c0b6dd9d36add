using Microsoft.Extensions.Logging;

namespace TinkerFlow.Http;

/// <summary>
/// HTTP 402 handling (wire spec §5): within a window of <c>billing_exception_max_pause_duration_sec</c> from the first
/// 402, calls pause 5 s and retry; the window resets after 5 minutes without a 402. Warns at most once a minute.
/// </summary>
internal sealed class BillingPause
{
    /// <summary>Pause between retries of a 402.</summary>
    public static readonly TimeSpan PauseDelay = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan ResetAfter = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan WarnInterval = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private DateTimeOffset? _windowStart;
    private DateTimeOffset _lastSeen;
    private DateTimeOffset _lastWarned = DateTimeOffset.MinValue;

    public BillingPause(TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
    }

    /// <summary>Records a 402; true when the caller should pause and retry, false when the window is used up.</summary>
    /// <param name="maxPause">The server's <c>billing_exception_max_pause_duration_sec</c>.</param>
    public bool ShouldPause(TimeSpan maxPause)
    {
        var now = _time.GetUtcNow();
        bool warn;
        lock (_gate)
        {
            if (_windowStart is null || now - _lastSeen > ResetAfter)
            {
                _windowStart = now;
            }

            _lastSeen = now;
            if (now - _windowStart.Value >= maxPause)
            {
                return false;
            }

            warn = now - _lastWarned >= WarnInterval;
            if (warn)
            {
                _lastWarned = now;
            }
        }

        if (warn)
        {
            _logger.LogWarning("The Tinker service answered 402 (billing); pausing and retrying for up to {MaxPause}.", maxPause);
        }

        return true;
    }
}
