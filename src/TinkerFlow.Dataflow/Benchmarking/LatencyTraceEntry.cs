namespace TinkerFlow.Dataflow;

/// <summary>One queued operation as seen by a <see cref="LatencyInjectingBackend"/>: when it was submitted, when the simulated server ran it, and when its result reached the client.</summary>
public sealed class LatencyTraceEntry
{
    internal LatencyTraceEntry(string operation, string requestId, DateTimeOffset submittedAt, DateTimeOffset serverStart, DateTimeOffset serverFinish)
    {
        Operation = operation;
        RequestId = requestId;
        SubmittedAt = submittedAt;
        ServerStart = serverStart;
        ServerFinish = serverFinish;
    }

    /// <summary>The wire operation, e.g. <c>forward_backward</c>, <c>optim_step</c>, <c>save_weights_for_sampler</c>, <c>sample</c>.</summary>
    public string Operation { get; }

    /// <summary>The inner backend's request id.</summary>
    public string RequestId { get; }

    /// <summary>When the client called the backend.</summary>
    public DateTimeOffset SubmittedAt { get; }

    /// <summary>When the simulated server started the operation (arrival after RTT/2, or when the previous operation finished).</summary>
    public DateTimeOffset ServerStart { get; }

    /// <summary>When the simulated server finished it (start + step time).</summary>
    public DateTimeOffset ServerFinish { get; }

    /// <summary>When its result was handed to the client (finish + RTT/2 at the earliest); null until then.</summary>
    public DateTimeOffset? DeliveredAt { get; internal set; }
}
