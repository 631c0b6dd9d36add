using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using TinkerFlow.Types;

namespace TinkerFlow.Http;

/// <summary>
/// Logs a warning when the server reports a paused queue, at most once per <see cref="Interval"/> per model, sampler
/// or model creation (wire spec §10.9).
/// </summary>
internal sealed class QueueStateWarnings
{
    /// <summary>Minimum time between two warnings about the same subject.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<QueueSubject, DateTimeOffset> _lastWarned = new();
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public QueueStateWarnings(ILogger logger, TimeProvider time)
    {
        _logger = logger;
        _time = time;
    }

    /// <summary>Reports the queue state seen while polling; returns the warning text when one was logged.</summary>
    /// <param name="subject">Whose request is queued.</param>
    /// <param name="state">The server's queue state.</param>
    /// <param name="reason">The server's reason, if any.</param>
    public string? Report(QueueSubject subject, QueueState state, string? reason)
    {
        if (state == QueueState.Active)
        {
            return null;
        }

        var now = _time.GetUtcNow();
        while (true)
        {
            if (_lastWarned.TryGetValue(subject, out var last))
            {
                if (now - last < Interval || !_lastWarned.TryUpdate(subject, now, last))
                {
                    return null;
                }
            }
            else if (!_lastWarned.TryAdd(subject, now))
            {
                continue;
            }

            break;
        }

        var text = $"{Prefix(subject.Kind)} for {subject.Id} is paused. Reason: {(string.IsNullOrWhiteSpace(reason) ? DefaultReason(subject.Kind, state) : reason)}";
        _logger.LogWarning("{QueueStateWarning}", text);
        return text;
    }

    /// <summary>The SDK's default reason when the server gives none.</summary>
    /// <param name="kind">Whose request is queued.</param>
    /// <param name="state">A paused state.</param>
    public static string DefaultReason(QueueSubjectKind kind, QueueState state) => state switch
    {
        QueueState.PausedRateLimit when kind == QueueSubjectKind.Sampling => "concurrent sampler weights limit hit",
        QueueState.PausedRateLimit => "concurrent training clients rate limit hit",
        _ => "Tinker backend is running short on capacity, please wait",
    };

    private static string Prefix(QueueSubjectKind kind) => kind switch
    {
        QueueSubjectKind.Sampling => "Sampling",
        QueueSubjectKind.ModelCreation => "Model creation",
        _ => "Training",
    };
}
