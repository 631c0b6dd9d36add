using System.Diagnostics;

namespace TinkerFlow.Diagnostics;

/// <summary>
/// The span and measurements of one client operation: started at the call, marked when the backend accepted the
/// request(s) and when it began executing, ended when the result is available.
/// </summary>
internal sealed class OperationTrace
{
    private readonly string _operation;
    private readonly long _callStart = Stopwatch.GetTimestamp();
    private long _tokens;
    private DateTimeOffset _submitted;

    private OperationTrace(string operation, Activity? activity)
    {
        _operation = operation;
        Activity = activity;
    }

    public Activity? Activity { get; }

    /// <summary>Starts the span of <paramref name="operation"/> (current activity = it, for the rest of the caller's async flow).</summary>
    public static OperationTrace Start(string operation, string? modelId = null, string? samplingSessionId = null)
    {
        var activity = TinkerFlowTelemetry.ActivitySource.StartActivity(operation, ActivityKind.Client);
        if (activity is not null)
        {
            activity.SetTag(TinkerFlowTelemetry.OperationTag, operation);
            activity.SetTag(TinkerFlowTelemetry.ModelIdTag, modelId);
            activity.SetTag(TinkerFlowTelemetry.SamplingSessionIdTag, samplingSessionId);
        }

        return new OperationTrace(operation, activity);
    }

    public void SetTokens(long tokens)
    {
        _tokens = tokens;
        Activity?.SetTag(TinkerFlowTelemetry.TokensTag, tokens);
    }

    /// <summary>Records the accepted request(s): first seq id, request ids, chunk count, and when the backend starts them.</summary>
    public void Submitted<T>(long firstSeqId, IReadOnlyList<BackendOperation<T>> ops)
    {
        _submitted = DateTimeOffset.UtcNow;
        if (Activity is { } a)
        {
            a.SetTag(TinkerFlowTelemetry.SeqIdTag, firstSeqId);
            a.SetTag(TinkerFlowTelemetry.RequestIdTag, ops.Count == 1 ? ops[0].RequestId : string.Join(',', ops.Select(o => o.RequestId)));
            a.SetTag(TinkerFlowTelemetry.ChunkCountTag, ops.Count);
            a.AddEvent(new ActivityEvent(TinkerFlowTelemetry.SubmittedEvent));
        }

        if (ops.Count > 0 && ops[0].Started is { } started)
        {
            _ = started.ContinueWith(
                t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        var wait = Math.Max(0, (t.Result - _submitted).TotalSeconds);
                        ClientInstruments.QueueWait.Record(wait, new KeyValuePair<string, object?>(TinkerFlowTelemetry.OperationTag, _operation));
                        Activity?.SetTag(TinkerFlowTelemetry.QueueWaitTag, wait * 1000);
                        Activity?.AddEvent(new ActivityEvent(TinkerFlowTelemetry.StartedEvent, t.Result));
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    /// <summary>Ends the span when <paramref name="result"/> completes; returns a task with the same outcome.</summary>
    public Task<T> EndWhenDone<T>(Task<T> result)
    {
        _ = result.ContinueWith(
            t => End(t.Exception?.GetBaseException()),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return result;
    }

    /// <summary>Ends the span now (a failed or cancelled submission).</summary>
    public void Fail(Exception error) => End(error);

    private void End(Exception? error)
    {
        var tag = new KeyValuePair<string, object?>(TinkerFlowTelemetry.OperationTag, _operation);
        ClientInstruments.OperationDuration.Record(Stopwatch.GetElapsedTime(_callStart).TotalSeconds, tag);
        if (error is null)
        {
            if (_tokens > 0)
            {
                ClientInstruments.Tokens.Add(_tokens, tag);
            }
        }
        else
        {
            Activity?.SetStatus(ActivityStatusCode.Error, error.Message);
            Activity?.SetTag("error.type", error.GetType().FullName);
        }

        Activity?.Stop();
    }
}
