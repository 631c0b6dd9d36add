using System.Diagnostics;
using TinkerFlow.Diagnostics;

namespace TinkerFlow.Local.Engine;

/// <summary>
/// The span of one engine step (<c>engine.&lt;operation&gt;</c>): created when a request is queued, so it remembers the
/// caller's span as its parent and the time it was queued; started on the engine thread when the work begins.
/// </summary>
internal sealed class EngineTrace
{
    private readonly string _operation;
    private readonly string _requestId;
    private readonly string? _modelId;
    private readonly string? _samplingSessionId;
    private readonly long? _seqId;
    private readonly long? _tokens;
    private readonly ActivityContext _parent;
    private readonly DateTimeOffset _queued = DateTimeOffset.UtcNow;
    private readonly TaskCompletionSource<DateTimeOffset> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private EngineTrace(string operation, string requestId, string? modelId, string? samplingSessionId, long? seqId, long? tokens)
    {
        _operation = operation;
        _requestId = requestId;
        _modelId = modelId;
        _samplingSessionId = samplingSessionId;
        _seqId = seqId;
        _tokens = tokens;
        _parent = Activity.Current?.Context ?? default;
    }

    /// <summary>Completes with the time the work began.</summary>
    public Task<DateTimeOffset> Started => _started.Task;

    public static EngineTrace Queued(string operation, string requestId, string? modelId = null, string? samplingSessionId = null, long? seqId = null, long? tokens = null) =>
        new(operation, requestId, modelId, samplingSessionId, seqId, tokens);

    /// <summary>Runs the asynchronous <paramref name="work"/> inside the step's span, from its start to its completion.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        using var activity = Begin();
        try
        {
            return await work().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }

    private Activity? Begin()
    {
        var now = DateTimeOffset.UtcNow;
        var activity = TinkerFlowTelemetry.ActivitySource.StartActivity("engine." + _operation, ActivityKind.Internal, _parent);
        _started.TrySetResult(now);
        if (activity is not null)
        {
            activity.SetTag(TinkerFlowTelemetry.OperationTag, _operation);
            activity.SetTag(TinkerFlowTelemetry.RequestIdTag, _requestId);
            activity.SetTag(TinkerFlowTelemetry.QueueWaitTag, Math.Max(0, (now - _queued).TotalMilliseconds));
            // A null value adds no tag, so optional identifiers need no check.
            activity.SetTag(TinkerFlowTelemetry.ModelIdTag, _modelId);
            activity.SetTag(TinkerFlowTelemetry.SamplingSessionIdTag, _samplingSessionId);
            activity.SetTag(TinkerFlowTelemetry.SeqIdTag, _seqId);
            activity.SetTag(TinkerFlowTelemetry.TokensTag, _tokens);
        }

        return activity;
    }

    /// <summary>Runs <paramref name="work"/> inside the step's span.</summary>
    public T Run<T>(Func<T> work)
    {
        using var activity = Begin();
        try
        {
            return work();
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }
}
