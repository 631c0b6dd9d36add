namespace TinkerFlow.Local.Engine;

/// <summary>
/// Runs one model's requests one at a time, in <c>seq_id</c> order, on a dedicated thread (TorchSharp dispose scopes
/// are thread-local, so each request runs start to finish on that thread).
/// </summary>
/// <remarks>
/// Requests may arrive out of order (parallel chunk submission). The executor runs the next expected seq id; when it
/// is missing but later ones wait, it waits <see cref="GapGrace"/> and then runs the lowest pending one, so a seq id
/// that a client allocated but never sent cannot block the model forever (wire-protocol §12, item 10).
/// </remarks>
internal sealed class OrderedExecutor : IDisposable
{
    private readonly object _gate = new();
    private readonly SortedDictionary<long, (Action Run, Action<Exception> Fail)> _pending = [];
    private readonly Thread _thread;
    private long _next = 1;
    private long _autoSeq = 1L << 40;
    private bool _stopped;

    public OrderedExecutor(string name, TimeSpan? gapGrace = null)
    {
        GapGrace = gapGrace ?? TimeSpan.FromSeconds(1);
        _thread = new Thread(Loop) { IsBackground = true, Name = $"tinkerflow-{name}" };
        _thread.Start();
    }

    /// <summary>How long a missing seq id may hold back later ones.</summary>
    public TimeSpan GapGrace { get; }

    /// <summary>Queues work; it runs after every request with a lower seq id (null = after everything queued so far).</summary>
    public Task<T> Enqueue<T>(long? seqId, Func<T> work)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Run()
        {
            try
            {
                tcs.TrySetResult(work());
            }
            catch (Exception ex)
            {
                tcs.TrySetException(ex);
            }
        }

        lock (_gate)
        {
            if (_stopped)
            {
                throw new ObjectDisposedException(nameof(OrderedExecutor), "The model has been unloaded.");
            }

            long key;
            if (seqId is { } s)
            {
                key = s;
                if (_pending.ContainsKey(key))
                {
                    throw new TinkerRequestException($"seq_id {s} was already submitted for this model; each request needs a new seq_id.", Types.RequestErrorCategory.User, status: 409);
                }
            }
            else
            {
                key = _pending.Count == 0 ? Math.Max(_next, _autoSeq) : Math.Max(_pending.Keys.Max() + 1, _autoSeq);
                _autoSeq = key + 1;
            }

            if (key < _next && seqId is not null)
            {
                // A late request whose turn has passed still runs (next), rather than being lost.
                key = _next - 1;
                while (_pending.ContainsKey(key))
                {
                    key--;
                }
            }

            _pending[key] = (Run, ex => tcs.TrySetException(ex));
            Monitor.PulseAll(_gate);
        }

        return tcs.Task;
    }

    private void Loop()
    {
        while (true)
        {
            Action? work = null;
            lock (_gate)
            {
                while (work is null)
                {
                    if (_stopped)
                    {
                        foreach (var pending in _pending.Values)
                        {
                            pending.Fail(new TinkerRequestException("The model was unloaded before this request ran.", Types.RequestErrorCategory.User, status: 404));
                        }

                        _pending.Clear();
                        return;
                    }

                    if (_pending.Count == 0)
                    {
                        Monitor.Wait(_gate);
                        continue;
                    }

                    var first = _pending.First();
                    if (first.Key <= _next || !Monitor.Wait(_gate, GapGrace))
                    {
                        // Either it is this request's turn, or the missing seq ids did not arrive in time.
                        first = _pending.First();
                        _pending.Remove(first.Key);
                        _next = Math.Max(_next, first.Key + 1);
                        work = first.Value.Run;
                    }
                }
            }

            work();
        }
    }

    /// <summary>How long <see cref="Dispose"/> waits for a running request to finish.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Stops the loop: queued requests fail with 404 "unloaded"; a request already running finishes first, and this
    /// waits for it, so that the caller may free the tensors it uses once this returns true.
    /// </summary>
    /// <returns>
    /// True when the loop's thread has ended; false when called from that thread or when the running request outlasted
    /// <paramref name="timeout"/> (then the caller must not free what the request may still use).
    /// </returns>
    public bool Stop(TimeSpan timeout)
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
        }

        return Thread.CurrentThread != _thread && _thread.Join(timeout);
    }

    /// <summary>Stops the loop and waits for the running request (see <see cref="Stop"/>).</summary>
    public void Dispose() => Stop(StopTimeout);
}
