using System.Collections.Concurrent;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>
/// A <see cref="TinkerBackend"/> wrapper for pipeline benchmarks: every operation costs a round trip
/// <see cref="RoundTrip"/> and every queued training operation occupies a simulated server for <see cref="StepTime"/>,
/// one at a time, in submission order. Results come from the inner backend.
/// </summary>
/// <remarks>
/// <para>Model: a submission returns after one round trip (the request is acknowledged); the request reaches the server
/// after RTT/2, starts when the server is free, runs for <see cref="StepTime"/>, and its result reaches the client
/// RTT/2 after it finished. Training operations (forward, forward_backward, optim_step, save/load weights, create/unload
/// model) share one server; samples run on their own for <see cref="SampleTime"/> each, concurrently. Calls that are not
/// queued (sessions, info, REST) just cost a round trip.</para>
/// <para>A sequential loop leaves the server idle for at least one RTT between steps; a pipelined one keeps it busy.
/// <see cref="Trace"/> records every queued operation so a benchmark can show the overlap.</para>
/// </remarks>
public sealed class LatencyInjectingBackend : TinkerBackend
{
    private readonly TimeProvider _time;
    private readonly bool _ownsInner;
    private readonly Lock _gate = new();
    private readonly ConcurrentQueue<LatencyTraceEntry> _trace = new();
    private DateTimeOffset _serverFreeAt = DateTimeOffset.MinValue;

    /// <summary>Wraps a backend.</summary>
    /// <param name="inner">The backend that computes the results (e.g. a fake or the local engine).</param>
    /// <param name="stepTime">S: server time of each queued training operation.</param>
    /// <param name="roundTrip">RTT: the client–server round trip added to every call.</param>
    /// <param name="timeProvider">The clock for the delays; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="ownsInner">Dispose <paramref name="inner"/> with this backend.</param>
    public LatencyInjectingBackend(TinkerBackend inner, TimeSpan stepTime, TimeSpan roundTrip, TimeProvider? timeProvider = null, bool ownsInner = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(stepTime, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(roundTrip, TimeSpan.Zero);
        Inner = inner;
        StepTime = stepTime;
        SampleTime = stepTime;
        RoundTrip = roundTrip;
        _time = timeProvider ?? TimeProvider.System;
        _ownsInner = ownsInner;
    }

    /// <summary>The wrapped backend.</summary>
    public TinkerBackend Inner { get; }

    /// <summary>S: server time per queued training operation.</summary>
    public TimeSpan StepTime { get; }

    /// <summary>Server time per sample request (defaults to <see cref="StepTime"/>); samples do not queue behind each other.</summary>
    public TimeSpan SampleTime { get; init; }

    /// <summary>RTT: the round trip added to every call.</summary>
    public TimeSpan RoundTrip { get; }

    /// <summary>Every queued operation, in submission order.</summary>
    public IReadOnlyList<LatencyTraceEntry> Trace => [.. _trace];

    /// <inheritdoc />
    public override string Name => $"latency({Inner.Name}, S={StepTime.TotalMilliseconds}ms, RTT={RoundTrip.TotalMilliseconds}ms)";

    /// <inheritdoc />
    public override Task<GetServerCapabilitiesResponse> GetServerCapabilitiesAsync(CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.GetServerCapabilitiesAsync(cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<CreateSessionResponse> CreateSessionAsync(CreateSessionRequest request, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.CreateSessionAsync(request, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task SessionHeartbeatAsync(SessionHeartbeatRequest request, CancellationToken cancellationToken = default) =>
        RoundTripAsync(async () => { await Inner.SessionHeartbeatAsync(request, cancellationToken).ConfigureAwait(false); return true; }, cancellationToken);

    /// <inheritdoc />
    public override Task<BackendOperation<CreateModelResponse>> CreateModelAsync(CreateModelRequest request, CancellationToken cancellationToken = default) =>
        QueueAsync("create_model", () => Inner.CreateModelAsync(request, cancellationToken), serial: true, cancellationToken);

    /// <inheritdoc />
    public override Task<GetInfoResponse> GetInfoAsync(GetInfoRequest request, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.GetInfoAsync(request, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<BackendOperation<ForwardBackwardOutput>> ForwardAsync(ForwardRequest request, CancellationToken cancellationToken = default) =>
        QueueAsync("forward", () => Inner.ForwardAsync(request, cancellationToken), serial: true, cancellationToken);

    /// <inheritdoc />
    public override Task<BackendOperation<ForwardBackwardOutput>> ForwardBackwardAsync(ForwardBackwardRequest request, CancellationToken cancellationToken = default) =>
        QueueAsync("forward_backward", () => Inner.ForwardBackwardAsync(request, cancellationToken), serial: true, cancellationToken);

    /// <inheritdoc />
    public override Task<BackendOperation<OptimStepResponse>> OptimStepAsync(OptimStepRequest request, CancellationToken cancellationToken = default) =>
        QueueAsync("optim_step", () => Inner.OptimStepAsync(request, cancellationToken), serial: true, cancellationToken);

    /// <inheritdoc />
    public override Task<BackendOperation<SaveWeightsResponse>> SaveWeightsAsync(SaveWeightsRequest request, CancellationToken cancellationToken = default) =>
        QueueAsync("save_weights", () => Inner.SaveWeightsAsync(request, cancellationToken), serial: true, cancellationToken);

    /// <inheritdoc />
    public override Task<BackendOperation<SaveWeightsForSamplerResponse>> SaveWeightsForSamplerAsync(SaveWeightsForSamplerRequest request, CancellationToken cancellationToken = default) =>
        QueueAsync("save_weights_for_sampler", () => Inner.SaveWeightsForSamplerAsync(request, cancellationToken), serial: true, cancellationToken);

    /// <inheritdoc />
    public override Task<BackendOperation<LoadWeightsResponse>> LoadWeightsAsync(LoadWeightsRequest request, CancellationToken cancellationToken = default) =>
        QueueAsync("load_weights", () => Inner.LoadWeightsAsync(request, cancellationToken), serial: true, cancellationToken);

    /// <inheritdoc />
    public override Task<BackendOperation<UnloadModelResponse>> UnloadModelAsync(UnloadModelRequest request, CancellationToken cancellationToken = default) =>
        QueueAsync("unload_model", () => Inner.UnloadModelAsync(request, cancellationToken), serial: true, cancellationToken);

    /// <inheritdoc />
    public override Task<CreateSamplingSessionResponse> CreateSamplingSessionAsync(CreateSamplingSessionRequest request, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.CreateSamplingSessionAsync(request, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<BackendOperation<SampleResponse>> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default) =>
        QueueAsync("sample", () => Inner.SampleAsync(request, cancellationToken), serial: false, cancellationToken);

    /// <inheritdoc />
    public override Task<TinkerTokenizer> GetTokenizerAsync(string baseModel, CancellationToken cancellationToken = default) =>
        Inner.GetTokenizerAsync(baseModel, cancellationToken);

    /// <inheritdoc />
    public override Task<WeightsInfoResponse> GetWeightsInfoAsync(WeightsInfoRequest request, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.GetWeightsInfoAsync(request, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<TrainingRun> GetTrainingRunAsync(string trainingRunId, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.GetTrainingRunAsync(trainingRunId, accessScope, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<TrainingRunsResponse> ListTrainingRunsAsync(int limit, int offset, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.ListTrainingRunsAsync(limit, offset, accessScope, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<CheckpointsListResponse> ListCheckpointsAsync(string trainingRunId, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.ListCheckpointsAsync(trainingRunId, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<CheckpointsListResponse> ListUserCheckpointsAsync(int limit, int offset, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.ListUserCheckpointsAsync(limit, offset, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<CheckpointArchiveUrlResponse> GetCheckpointArchiveUrlAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.GetCheckpointArchiveUrlAsync(trainingRunId, checkpointId, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task DeleteCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        RoundTripAsync(async () => { await Inner.DeleteCheckpointAsync(trainingRunId, checkpointId, cancellationToken).ConfigureAwait(false); return true; }, cancellationToken);

    /// <inheritdoc />
    public override Task PublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        RoundTripAsync(async () => { await Inner.PublishCheckpointAsync(trainingRunId, checkpointId, cancellationToken).ConfigureAwait(false); return true; }, cancellationToken);

    /// <inheritdoc />
    public override Task UnpublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        RoundTripAsync(async () => { await Inner.UnpublishCheckpointAsync(trainingRunId, checkpointId, cancellationToken).ConfigureAwait(false); return true; }, cancellationToken);

    /// <inheritdoc />
    public override Task SetCheckpointTtlAsync(string trainingRunId, string checkpointId, long? ttlSeconds, CancellationToken cancellationToken = default) =>
        RoundTripAsync(async () => { await Inner.SetCheckpointTtlAsync(trainingRunId, checkpointId, ttlSeconds, cancellationToken).ConfigureAwait(false); return true; }, cancellationToken);

    /// <inheritdoc />
    public override Task<ListSessionsResponse> ListSessionsAsync(int limit, int offset, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.ListSessionsAsync(limit, offset, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<GetSessionResponse> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.GetSessionAsync(sessionId, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<ListSessionsResponse> ListSessionsAsync(int limit, int offset, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.ListSessionsAsync(limit, offset, accessScope, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<GetSessionResponse> GetSessionAsync(string sessionId, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.GetSessionAsync(sessionId, accessScope, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override Task<GetSamplerResponse> GetSamplerAsync(string samplerId, CancellationToken cancellationToken = default) =>
        RoundTripAsync(() => Inner.GetSamplerAsync(samplerId, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        if (_ownsInner)
        {
            await Inner.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async Task<T> RoundTripAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var result = await call().ConfigureAwait(false);
        await DelayAsync(RoundTrip, cancellationToken).ConfigureAwait(false);
        return result;
    }

    private async Task<BackendOperation<T>> QueueAsync<T>(string operation, Func<Task<BackendOperation<T>>> submit, bool serial, CancellationToken cancellationToken)
    {
        var submittedAt = _time.GetUtcNow();
        // The inner backend is called first and synchronously in the caller's order, so seq_id order is preserved.
        var inner = await submit().ConfigureAwait(false);
        var arrival = submittedAt + RoundTrip / 2;
        DateTimeOffset start, finish;
        if (serial)
        {
            lock (_gate)
            {
                start = arrival > _serverFreeAt ? arrival : _serverFreeAt;
                finish = start + StepTime;
                _serverFreeAt = finish;
            }
        }
        else
        {
            start = arrival;
            finish = start + SampleTime;
        }

        var entry = new LatencyTraceEntry(operation, inner.RequestId, submittedAt, start, finish);
        _trace.Enqueue(entry);
        var result = DeliverAsync(inner.Result, finish + RoundTrip / 2, entry);
        await DelayAsync(RoundTrip, cancellationToken).ConfigureAwait(false);
        return new BackendOperation<T>(inner.RequestId, result);
    }

    private async Task<T> DeliverAsync<T>(Task<T> result, DateTimeOffset deliverAt, LatencyTraceEntry entry)
    {
        var value = await result.ConfigureAwait(false);
        await DelayAsync(deliverAt - _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        entry.DeliveredAt = _time.GetUtcNow();
        return value;
    }

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        delay > TimeSpan.Zero ? Task.Delay(delay, _time, cancellationToken) : Task.CompletedTask;
}
