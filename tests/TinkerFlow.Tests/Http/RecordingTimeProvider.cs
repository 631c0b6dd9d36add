using Microsoft.Extensions.Time.Testing;

namespace TinkerFlow.Tests.Http;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also records the due time of every timer created (Task.Delay and
/// CancellationTokenSource timeouts), so a test can wait until the code under test is sleeping for an exact
/// delay and then advance the clock by exactly that much.
/// </summary>
internal sealed class RecordingTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<TimeSpan> _created = [];
    private readonly List<(TimeSpan Due, TaskCompletionSource Signal)> _waiters = [];
    private int _consumed;

    public FakeTimeProvider Fake { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Due times of all timers created so far.</summary>
    public IReadOnlyList<TimeSpan> Created
    {
        get
        {
            lock (_gate)
            {
                return _created.ToList();
            }
        }
    }

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = Fake.CreateTimer(callback, state, dueTime, period);
        lock (_gate)
        {
            _created.Add(dueTime);
            foreach (var waiter in _waiters.Where(w => w.Due == dueTime).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Signal.TrySetResult();
            }
        }

        return timer;
    }

    public void Advance(TimeSpan delta) => Fake.Advance(delta);

    /// <summary>
    /// Waits (real-time limit 10 s) until a timer with exactly <paramref name="due"/> has been created since the last
    /// call that consumed one, then advances the clock by <paramref name="due"/>.
    /// </summary>
    public async Task WaitThenAdvanceAsync(TimeSpan due)
    {
        await WaitForTimerAsync(due);
        Advance(due);
    }

    /// <summary>Waits (real-time limit 10 s) for the next unconsumed timer with exactly <paramref name="due"/>.</summary>
    public Task WaitForTimerAsync(TimeSpan due)
    {
        lock (_gate)
        {
            for (var i = _consumed; i < _created.Count; i++)
            {
                if (_created[i] == due)
                {
                    _consumed = i + 1;
                    return Task.CompletedTask;
                }
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((due, signal));
            return Consume(signal.Task, due);
        }
    }

    private async Task Consume(Task signal, TimeSpan due)
    {
        await signal.WaitAsync(TimeSpan.FromSeconds(10));
        lock (_gate)
        {
            _consumed = _created.LastIndexOf(due) + 1;
        }
    }
}
