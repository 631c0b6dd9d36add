namespace TinkerFlow.Http;

/// <summary>
/// Dispatch limits for asample submissions (wire spec §10.4): at most 400 in flight; after a 429 every sampler waits
/// (polling once a second) until the back-off has passed, and for the next 10 s at most 10 submissions run at once.
/// </summary>
internal sealed class SamplingBackpressure
{
    /// <summary>Most concurrent asample submissions.</summary>
    public const int MaxConcurrent = 400;

    /// <summary>Most concurrent submissions while throttled after a 429.</summary>
    public const int ThrottledConcurrent = 10;

    /// <summary>Prompts up to this many estimated bytes back off 1 s after a 429, larger ones 5 s.</summary>
    public const long SmallPromptBytes = 128 * 1024;

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ThrottleWindow = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _all = new(MaxConcurrent, MaxConcurrent);
    private readonly SemaphoreSlim _throttled = new(ThrottledConcurrent, ThrottledConcurrent);
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private DateTimeOffset _backoffUntil = DateTimeOffset.MinValue;
    private DateTimeOffset _throttleUntil = DateTimeOffset.MinValue;

    public SamplingBackpressure(TimeProvider time) => _time = time;

    /// <summary>True while submissions are limited to <see cref="ThrottledConcurrent"/>.</summary>
    public bool IsThrottled
    {
        get
        {
            lock (_gate)
            {
                return _time.GetUtcNow() < _throttleUntil;
            }
        }
    }

    /// <summary>Waits for the back-off to pass and for a dispatch slot; dispose the result to free the slot.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task<Lease> EnterAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            DateTimeOffset until;
            lock (_gate)
            {
                until = _backoffUntil;
            }

            if (_time.GetUtcNow() >= until)
            {
                break;
            }

            await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }

        await _all.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!IsThrottled)
        {
            return new Lease(this, throttled: false);
        }

        try
        {
            await _throttled.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _all.Release();
            throw;
        }

        return new Lease(this, throttled: true);
    }

    /// <summary>Records a 429 on asample: back off all samplers and throttle for the next 10 s.</summary>
    /// <param name="estimatedPromptBytes">10 × prompt tokens.</param>
    public void OnBackpressure(long estimatedPromptBytes)
    {
        var now = _time.GetUtcNow();
        var until = now + (estimatedPromptBytes <= SmallPromptBytes ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(5));
        lock (_gate)
        {
            if (until > _backoffUntil)
            {
                _backoffUntil = until;
            }

            _throttleUntil = now + ThrottleWindow;
        }
    }

    /// <summary>A held dispatch slot.</summary>
    internal sealed class Lease : IDisposable
    {
        private SamplingBackpressure? _owner;
        private readonly bool _throttled;

        public Lease(SamplingBackpressure owner, bool throttled)
        {
            _owner = owner;
            _throttled = throttled;
        }

        public void Dispose()
        {
            var owner = Interlocked.Exchange(ref _owner, null);
            if (owner is null)
            {
                return;
            }

            if (_throttled)
            {
                owner._throttled.Release();
            }

            owner._all.Release();
        }
    }
}
