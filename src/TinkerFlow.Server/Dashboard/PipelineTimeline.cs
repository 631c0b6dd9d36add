using System.Collections.Concurrent;

namespace TinkerFlow.Server.Dashboard;

/// <summary>One operation on the timeline: when it was accepted, when the engine started it and when it finished.</summary>
/// <param name="Operation"><c>forward_backward</c>, <c>forward</c>, <c>optim_step</c> or <c>sample</c>.</param>
/// <param name="SeqId">The request's seq id.</param>
/// <param name="Submitted">When the server accepted the request.</param>
internal sealed record TimelineEntry(string Operation, long? SeqId, DateTimeOffset Submitted)
{
    /// <summary>When the engine began it (null: still queued, or the backend did not say).</summary>
    public DateTimeOffset? Started { get; set; }

    /// <summary>When its result was ready (null: still running).</summary>
    public DateTimeOffset? Ended { get; set; }

    /// <summary>True when it failed.</summary>
    public bool Failed { get; set; }
}

/// <summary>
/// The pipeline timeline of each run for the dashboard: the last <see cref="Capacity"/> training operations of a model
/// (forward, forward_backward, optim_step) and samples of its session's samplers, with their queue and run times, so
/// the page can draw them as bars and show whether steps overlap and where the engine waits.
/// </summary>
internal sealed class PipelineTimeline(TimeProvider time)
{
    /// <summary>Entries kept per run and per session's samplers.</summary>
    public const int Capacity = 400;

    private readonly ConcurrentDictionary<string, Queue<TimelineEntry>> _byKey = new(StringComparer.Ordinal);

    /// <summary>Records a training operation of <paramref name="modelId"/> once it was accepted.</summary>
    public BackendOperation<T> Track<T>(string modelId, string operation, long? seqId, BackendOperation<T> accepted) =>
        Add(modelId, operation, seqId, accepted);

    /// <summary>Records a sample of <paramref name="samplingSessionId"/> (shown on the runs of the same session).</summary>
    public BackendOperation<T> TrackSample<T>(string samplingSessionId, long? seqId, BackendOperation<T> accepted) =>
        Add(SessionKey(samplingSessionId), "sample", seqId, accepted);

    /// <summary>A run's entries and its session's samples, oldest first (copies; safe to read while training goes on).</summary>
    public IReadOnlyList<TimelineEntry> For(string runId)
    {
        var entries = new List<TimelineEntry>();
        foreach (var key in new[] { runId, SessionKey(runId) })
        {
            if (_byKey.TryGetValue(key, out var queue))
            {
                lock (queue)
                {
                    entries.AddRange(queue.Select(e => e with { Started = e.Started, Ended = e.Ended, Failed = e.Failed }));
                }
            }
        }

        return [.. entries.OrderBy(e => e.Submitted)];
    }

    /// <summary>Session ids prefix model and sampler ids (<c>&lt;session&gt;:train:N</c>, <c>&lt;session&gt;:sample:N</c>).</summary>
    private static string SessionKey(string id)
    {
        var colon = id.IndexOf(':', StringComparison.Ordinal);
        return "session:" + (colon > 0 ? id[..colon] : id);
    }

    private BackendOperation<T> Add<T>(string key, string operation, long? seqId, BackendOperation<T> accepted)
    {
        var entry = new TimelineEntry(operation, seqId, time.GetUtcNow());
        var queue = _byKey.GetOrAdd(key, _ => new Queue<TimelineEntry>());
        lock (queue)
        {
            queue.Enqueue(entry);
            while (queue.Count > Capacity)
            {
                queue.Dequeue();
            }
        }

        accepted.Started?.ContinueWith(
            t =>
            {
                lock (queue)
                {
                    entry.Started = t.Result;
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        accepted.Result.ContinueWith(
            t =>
            {
                lock (queue)
                {
                    entry.Ended = time.GetUtcNow();
                    entry.Failed = !t.IsCompletedSuccessfully;
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return accepted;
    }
}
