using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TinkerFlow.Diagnostics;

/// <summary>
/// The names under which TinkerFlow reports traces and metrics through <c>System.Diagnostics</c>: one
/// <see cref="System.Diagnostics.ActivitySource"/> and one <see cref="System.Diagnostics.Metrics.Meter"/>, both named
/// <see cref="Name"/>. Subscribe with an <see cref="ActivityListener"/>/<see cref="MeterListener"/>, or with
/// OpenTelemetry's <c>AddSource("TinkerFlow")</c> / <c>AddMeter("TinkerFlow")</c> (see docs/observability.md).
/// </summary>
/// <remarks>
/// <para>Spans (activity names):</para>
/// <list type="bullet">
/// <item><description>Client operations (<see cref="ActivityKind.Client"/>): <c>forward</c>, <c>forward_backward</c>,
/// <c>forward_backward_custom</c>, <c>optim_step</c>, <c>sample</c>, <c>save_weights</c>, <c>save_weights_for_sampler</c>,
/// <c>load_weights</c>, <c>create_model</c>. A span lasts from the call until its result is available (also with
/// <see cref="WaitUntil.Started"/>), has the event <see cref="SubmittedEvent"/> when the backend accepted the request,
/// and <see cref="StartedEvent"/> when the backend reported that it began executing.</description></item>
/// <item><description>Server requests (<see cref="ActivityKind.Server"/>, TinkerFlow.Server): <c>POST /api/v1/…</c>, a
/// child of the caller's <c>traceparent</c>.</description></item>
/// <item><description>Engine steps (<see cref="ActivityKind.Internal"/>, TinkerFlow.Local): <c>engine.&lt;operation&gt;</c>,
/// from the start to the end of the computation, tagged with <see cref="QueueWaitTag"/>.</description></item>
/// </list>
/// <para>Client instruments: <see cref="TokensInstrument"/>, <see cref="OperationDurationInstrument"/>,
/// <see cref="QueueWaitInstrument"/>, <see cref="RetriesInstrument"/>; all tagged with <see cref="OperationTag"/>.</para>
/// </remarks>
public static class TinkerFlowTelemetry
{
    /// <summary>The name of TinkerFlow's activity source and meter.</summary>
    public const string Name = "TinkerFlow";

    /// <summary>Tag: the operation (<c>forward_backward</c>, <c>optim_step</c>, <c>sample</c>, …).</summary>
    public const string OperationTag = "tinkerflow.operation";

    /// <summary>Tag: the training model (run) id.</summary>
    public const string ModelIdTag = "tinkerflow.model_id";

    /// <summary>Tag: the sampling session (sampler) id.</summary>
    public const string SamplingSessionIdTag = "tinkerflow.sampling_session_id";

    /// <summary>Tag: the request's <c>seq_id</c>; for a chunked call, the first chunk's.</summary>
    public const string SeqIdTag = "tinkerflow.seq_id";

    /// <summary>Tag: the backend's request id; for a chunked call, the chunks' ids joined by <c>,</c>.</summary>
    public const string RequestIdTag = "tinkerflow.request_id";

    /// <summary>Tag: how many requests (chunks) a forward/forward_backward call was split into.</summary>
    public const string ChunkCountTag = "tinkerflow.chunk_count";

    /// <summary>Tag: the tokens of the call: model-input tokens for training, prompt × samples + sampled tokens for sampling.</summary>
    public const string TokensTag = "tinkerflow.tokens";

    /// <summary>Tag: milliseconds between the backend accepting a request and starting it (engine spans; client spans when the backend reports it).</summary>
    public const string QueueWaitTag = "tinkerflow.queue_wait_ms";

    /// <summary>Tag on <see cref="RetriesInstrument"/>: which retry layer retried (<c>http</c>, <c>call</c>, <c>poll</c>, <c>sample</c>).</summary>
    public const string RetryLayerTag = "tinkerflow.retry.layer";

    /// <summary>Span event: the backend accepted the request (its request id is known).</summary>
    public const string SubmittedEvent = "submitted";

    /// <summary>Span event: the backend began executing the request.</summary>
    public const string StartedEvent = "started";

    /// <summary>Counter (tokens): tokens processed by completed client operations.</summary>
    public const string TokensInstrument = "tinkerflow.client.tokens";

    /// <summary>Histogram (s): round trip of a client operation, from the call to its result (step latency).</summary>
    public const string OperationDurationInstrument = "tinkerflow.client.operation.duration";

    /// <summary>Histogram (s): time a request waited in the backend's queue before it started (when the backend reports it).</summary>
    public const string QueueWaitInstrument = "tinkerflow.client.queue_wait";

    /// <summary>Counter: retries of HTTP requests, calls, polls and samples.</summary>
    public const string RetriesInstrument = "tinkerflow.client.retries";

    /// <summary>The activity source every TinkerFlow span comes from (client, server and engine).</summary>
    public static ActivitySource ActivitySource { get; } = new(Name, typeof(TinkerFlowTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>The meter TinkerFlow's instruments belong to.</summary>
    public static Meter Meter { get; } = new(Name, typeof(TinkerFlowTelemetry).Assembly.GetName().Version?.ToString());
}
