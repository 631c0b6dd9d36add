using System.Globalization;
using TinkerFlow.Types;

namespace TinkerFlow.Http;

internal sealed partial class HttpBackend
{
    /// <inheritdoc/>
    public override async Task<GetServerCapabilitiesResponse> GetServerCapabilitiesAsync(CancellationToken cancellationToken = default)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var call = new HttpCall(HttpMethod.Get, "api/v1/get_server_capabilities", "get_server_capabilities");
        return await WithOuterRetriesAsync(call.Operation, ct => SendJsonAsync<GetServerCapabilitiesResponse>(call, ct), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async Task<CreateSessionResponse> CreateSessionAsync(CreateSessionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);

        // Layer A only (wire spec §5).
        return await SendJsonAsync<CreateSessionResponse>(JsonCall(HttpMethod.Post, "api/v1/create_session", "create_session", request), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async Task SessionHeartbeatAsync(SessionHeartbeatRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var call = JsonCall(HttpMethod.Post, "api/v1/session_heartbeat", "session_heartbeat", request) with
        {
            LowLevelRetries = false,
            Timeout = HeartbeatTimeout,
        };
        await SendAsync(call, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task<BackendOperation<CreateModelResponse>> CreateModelAsync(CreateModelRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SubmitAsync<CreateModelResponse>(
            JsonCall(HttpMethod.Post, "api/v1/create_model", "create_model", request),
            "CreateModel",
            new QueueSubject(QueueSubjectKind.ModelCreation, request.BaseModel),
            outerRetries: false,
            cancellationToken);
    }

    /// <inheritdoc/>
    public override async Task<GetInfoResponse> GetInfoAsync(GetInfoRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var call = JsonCall(HttpMethod.Post, "api/v1/get_info", "get_info", request);
        return await WithOuterRetriesAsync(call.Operation, ct => SendJsonAsync<GetInfoResponse>(call, ct), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task<BackendOperation<ForwardBackwardOutput>> ForwardAsync(ForwardRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SubmitAsync<ForwardBackwardOutput>(
            JsonCall(HttpMethod.Post, "api/v1/forward", "forward", request),
            "Forward",
            new QueueSubject(QueueSubjectKind.Training, request.ModelId),
            outerRetries: true,
            cancellationToken);
    }

    /// <inheritdoc/>
    public override Task<BackendOperation<ForwardBackwardOutput>> ForwardBackwardAsync(ForwardBackwardRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SubmitAsync<ForwardBackwardOutput>(
            JsonCall(HttpMethod.Post, "api/v1/forward_backward", "forward_backward", request),
            "ForwardBackward",
            new QueueSubject(QueueSubjectKind.Training, request.ModelId),
            outerRetries: true,
            cancellationToken);
    }

    /// <inheritdoc/>
    public override Task<BackendOperation<OptimStepResponse>> OptimStepAsync(OptimStepRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SubmitAsync<OptimStepResponse>(
            JsonCall(HttpMethod.Post, "api/v1/optim_step", "optim_step", request),
            "OptimStep",
            new QueueSubject(QueueSubjectKind.Training, request.ModelId),
            outerRetries: true,
            cancellationToken);
    }

    /// <inheritdoc/>
    public override Task<BackendOperation<SaveWeightsResponse>> SaveWeightsAsync(SaveWeightsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);

        // No layer A (wire spec §5). A 409 ("name exists") is final rather than retried for TotalTimeout.
        return SubmitAsync<SaveWeightsResponse>(
            JsonCall(HttpMethod.Post, "api/v1/save_weights", "save_weights", request) with { LowLevelRetries = false },
            "SaveWeights",
            new QueueSubject(QueueSubjectKind.Training, request.ModelId),
            outerRetries: true,
            cancellationToken,
            exclude: ex => ex.Status == 409);
    }

    /// <inheritdoc/>
    public override Task<BackendOperation<SaveWeightsForSamplerResponse>> SaveWeightsForSamplerAsync(SaveWeightsForSamplerRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SubmitAsync<SaveWeightsForSamplerResponse>(
            JsonCall(HttpMethod.Post, "api/v1/save_weights_for_sampler", "save_weights_for_sampler", request) with { LowLevelRetries = false },
            "SaveWeightsForSampler",
            new QueueSubject(QueueSubjectKind.Training, request.ModelId),
            outerRetries: true,
            cancellationToken,
            exclude: ex => ex.Status == 409);
    }

    /// <inheritdoc/>
    public override Task<BackendOperation<LoadWeightsResponse>> LoadWeightsAsync(LoadWeightsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var subject = request.ModelId is { } modelId
            ? new QueueSubject(QueueSubjectKind.Training, modelId)
            : new QueueSubject(QueueSubjectKind.ModelCreation, request.BaseModel ?? request.Path);
        return SubmitAsync<LoadWeightsResponse>(
            JsonCall(HttpMethod.Post, "api/v1/load_weights", "load_weights", request),
            "LoadWeights",
            subject,
            outerRetries: true,
            cancellationToken);
    }

    /// <inheritdoc/>
    public override Task<BackendOperation<UnloadModelResponse>> UnloadModelAsync(UnloadModelRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SubmitAsync<UnloadModelResponse>(
            JsonCall(HttpMethod.Post, "api/v1/unload_model", "unload_model", request),
            "UnloadModel",
            new QueueSubject(QueueSubjectKind.Training, request.ModelId),
            outerRetries: true,
            cancellationToken);
    }

    /// <inheritdoc/>
    public override async Task<CreateSamplingSessionResponse> CreateSamplingSessionAsync(CreateSamplingSessionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);

        // Layer A only (wire spec §5).
        return await SendJsonAsync<CreateSamplingSessionResponse>(
            JsonCall(HttpMethod.Post, "api/v1/create_sampling_session", "create_sampling_session", request),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async Task<BackendOperation<SampleResponse>> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var call = JsonCall(HttpMethod.Post, "api/v1/asample", "asample", request) with
        {
            LowLevelRetries = false,
            Headers = [new("X-Tinker-Sampling-Backpressure", "1")],
        };
        var subject = new QueueSubject(QueueSubjectKind.Sampling, request.SamplingSessionId ?? request.ModelPath ?? request.BaseModel ?? "sampler");
        var promptBytes = 10L * request.Prompt.Length;
        var started = _time.GetTimestamp();

        // A 429 on asample is back-pressure (wire spec §10.4): wait for the shared back-off and send the same request again.
        while (true)
        {
            using var lease = await _sampling.EnterAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var future = await WithOuterRetriesAsync(call.Operation, ct => SendJsonAsync<UntypedApiFuture>(call, ct), cancellationToken, exclude: ex => ex.Status == 429).ConfigureAwait(false);
                return StartPolling<SampleResponse>(future, "Sample", subject, _time.GetElapsedTime(started));
            }
            catch (TinkerRequestException ex) when (ex.Status == 429)
            {
                _sampling.OnBackpressure(promptBytes);
            }
        }
    }

    /// <summary>Submits a queued operation and starts polling its future as soon as the server accepted it.</summary>
    private async Task<BackendOperation<T>> SubmitAsync<T>(
        HttpCall call,
        string requestType,
        QueueSubject subject,
        bool outerRetries,
        CancellationToken cancellationToken,
        Func<TinkerRequestException, bool>? exclude = null)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var started = _time.GetTimestamp();
        var future = outerRetries
            ? await WithOuterRetriesAsync(call.Operation, ct => SendJsonAsync<UntypedApiFuture>(call, ct), cancellationToken, exclude).ConfigureAwait(false)
            : await SendJsonAsync<UntypedApiFuture>(call, cancellationToken).ConfigureAwait(false);
        return StartPolling<T>(future, requestType, subject, _time.GetElapsedTime(started));
    }

    private BackendOperation<T> StartPolling<T>(UntypedApiFuture future, string requestType, QueueSubject subject, TimeSpan roundTrip)
    {
        var poll = PollAsync<T>(future.RequestId, requestType, subject, roundTrip.TotalSeconds.ToString("0.######", CultureInfo.InvariantCulture), _disposed.Token);
        return new BackendOperation<T>(future.RequestId, poll);
    }
}
