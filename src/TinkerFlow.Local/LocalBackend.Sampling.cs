using System.Runtime.CompilerServices;
using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Limits;
using TinkerFlow.Local.Sampling;
using TinkerFlow.Local.Storage;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;

namespace TinkerFlow.Local;

public sealed partial class LocalBackend
{
    /// <inheritdoc/>
    public override Task<CreateSamplingSessionResponse> CreateSamplingSessionAsync(CreateSamplingSessionRequest request, CancellationToken cancellationToken = default) =>
        Task.Run(
            () => Guard(
                () =>
                {
                    var session = Store.GetSession(request.SessionId, Options.Owner);
                    var samplerId = $"{session.SessionId}:sample:{request.SamplingSessionSeqId}";
                    SamplerState state;
                    MemoryLedger.Reservation reservation;
                    if (request.ModelPath is { } path)
                    {
                        var (_, dir, run) = Store.ResolveTinkerPath(path, Options.Owner);
                        if (request.BaseModel is { } requested && !string.Equals(requested, run.BaseModel, StringComparison.OrdinalIgnoreCase))
                        {
                            throw new TinkerUserInputException($"'{path}' was trained on '{run.BaseModel}', not '{Truncate(requested)}'; omit base_model or pass the matching one.");
                        }

                        var baseModel = Models.Get(run.BaseModel);
                        reservation = AdmitSampler(samplerId, baseModel, run.LoraConfig);
                        try
                        {
                            state = new SamplerState(baseModel, CheckpointIo.LoadAdapterFrom(dir, baseModel, path), path);
                        }
                        catch
                        {
                            reservation.Dispose();
                            throw;
                        }
                    }
                    else
                    {
                        var name = request.BaseModel ?? throw new TinkerUserInputException("create_sampling_session needs base_model or model_path.");
                        var baseModel = Models.Get(name);
                        reservation = AdmitSampler(samplerId, baseModel, lora: null);
                        state = new SamplerState(baseModel, adapter: null, modelPath: null);
                    }

                    RegisterSampler(samplerId, state, session.SessionId, reservation);
                    return new CreateSamplingSessionResponse { SamplingSessionId = samplerId };
                },
                requestId: null),
            cancellationToken);

    /// <inheritdoc/>
    /// <remarks>
    /// The request joins its base model's continuous batch (<see cref="ContinuousBatcher"/>): one decode loop per model
    /// that every sampler of that model shares, whatever its adapter.
    /// </remarks>
    public override Task<BackendOperation<SampleResponse>> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default)
    {
        var requestId = NewRequestId();
        MemoryLedger.Reservation reservation;
        ContinuousBatcher queue;
        try
        {
            // Refused before it is queued: the KV cache it would need, against the per-request limit and the budgets,
            // then a place in its model's waiting queue (429 when the queue is full: back-pressure).
            reservation = Guard(() => AdmitSample(request), requestId);
            try
            {
                queue = Guard(() => ReserveQueue(request), requestId);
            }
            catch
            {
                reservation.Dispose();
                throw;
            }
        }
        catch (Exception ex)
        {
            return Task.FromException<BackendOperation<SampleResponse>>(ex);
        }

        var trace = EngineTrace.Queued("sample", requestId, samplingSessionId: request.SamplingSessionId, seqId: request.SeqId, tokens: request.Prompt.Length * (long)request.NumSamples);
        var queued = new StrongBox<(SampleJob Job, ContinuousBatcher Batcher, string Model)?>();

        var task = Task.Run(
            async () =>
            {
                using var held = reservation;
                int reserved = Math.Max(request.NumSamples, 1);
                SamplerState state;
                SampleJob job;
                try
                {
                    state = ResolveSampler(request, requestId);
                    job = Guard(
                        () =>
                        {
                            state.ObserveSeq(request.SeqId);
                            var prompt = request.Prompt.Chunks.All(c => c is EncodedTextChunk)
                                ? request.Prompt.ToInts()
                                : throw new TinkerUserInputException("The prompt has image chunks; the embedded engine's text models accept only encoded_text chunks.");
                            var tokenizer = state.Base.Tokenizer;
                            return SampleJob.Create(
                                state.Base.Model.Config,
                                state.Adapter,
                                prompt,
                                request.NumSamples,
                                request.SamplingParams,
                                request.PromptLogprobs ?? false,
                                request.TopkPromptLogprobs,
                                tokens => tokenizer.Decode(tokens),
                                eosTokenId: null,
                                CancellationToken.None);
                        },
                        requestId);
                }
                catch
                {
                    queue.CancelReservation(reserved);
                    throw;
                }

                // The place reserved at submission is taken by the job (a different batcher or row count cannot happen with a
                // registered sampler; then the reservation is returned and the job is counted on its own batcher).
                var batcher = BatcherFor(state.Base);
                bool holdsReservation = ReferenceEquals(batcher, queue) && job.NumSamples == reserved;
                if (!holdsReservation)
                {
                    queue.CancelReservation(reserved);
                }

                queued.Value = (job, batcher, state.Base.Name);
                try
                {
                    return await trace.RunAsync(() => batcher.Enqueue(job, holdsReservation)).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not TinkerRequestException)
                {
                    // Map engine failures onto the Tinker error categories, as a synchronous sample would.
                    return Guard<SampleResponse>(() => throw ex, requestId);
                }
            },
            CancellationToken.None);
        return Task.FromResult(new BackendOperation<SampleResponse>(requestId, task, trace.Started) { QueueStatus = () => SampleQueueStatus(queued.Value) });
    }

    /// <summary>Paused for capacity while the request waits for room in its model's decode batch; otherwise active.</summary>
    private static (QueueState State, string? Reason) SampleQueueStatus((SampleJob Job, ContinuousBatcher Batcher, string Model)? queued)
    {
        if (queued is not { } q || q.Job.Admitted || q.Job.Completion.IsCompleted)
        {
            return (QueueState.Active, null);
        }

        return (QueueState.PausedCapacity,
            $"the sampling batch of {q.Model} is full ({q.Batcher.LastStepRows} of at most {q.Batcher.Limits.MaxRows} samples decoding); "
            + $"this request's {q.Job.NumSamples} samples wait for room, {q.Batcher.WaitingRows} samples in line in all");
    }

    /// <summary>Reserves the request's rows in its model's waiting queue, or refuses it with a 429 when the queue is full.</summary>
    private ContinuousBatcher ReserveQueue(SampleRequest request)
    {
        var baseModel = SampleBase(request);
        var batcher = BatcherFor(baseModel);
        int rows = Math.Max(request.NumSamples, 1);
        if (!batcher.TryReserve(rows))
        {
            throw Refused(
                $"asample: {batcher.WaitingRows} samples are already waiting for room in the sampling batch of '{baseModel.Name}' " +
                $"(at most {batcher.Limits.MaxRows} decode at once, at most {batcher.Limits.MaxWaitingRows} may wait); these {rows} would wait too long. " +
                "Back off and send the request again (Tinker clients do so on a 429), or raise the limit with --max-waiting-samples (engine: LocalBackendOptions.MaxWaitingSamples).",
                429);
        }

        return batcher;
    }

    /// <summary>The continuous batcher of <paramref name="baseModel"/>, started on first use.</summary>
    internal ContinuousBatcher BatcherFor(BaseModel baseModel) =>
        _batchers.GetOrAdd(
            baseModel,
            model => new Lazy<ContinuousBatcher>(
                () => new ContinuousBatcher(model.Model, model.Name, new BatchLimits(Options.MaxConcurrentSamples, Options.MaxSampleKvBytes, Options.MaxWaitingSamples)),
                LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    private SamplerState ResolveSampler(SampleRequest request, string requestId)
    {
        if (request.SamplingSessionId is { } id)
        {
            return _samplers.TryGetValue(id, out var state) && Store.TryGetSamplerOwner(id) is { } owner && owner == Options.Owner
                ? state
                : throw new TinkerRequestException(
                    $"Sampling session '{id}' is not loaded in this engine (unknown id, or the process restarted). Create a sampling client again from its tinker:// path or base model.",
                    RequestErrorCategory.User,
                    status: 404,
                    requestId: requestId);
        }

        return Guard(
            () =>
            {
                if (request.ModelPath is { } path)
                {
                    var (_, dir, run) = Store.ResolveTinkerPath(path, Options.Owner);
                    var baseModel = Models.Get(run.BaseModel);
                    return new SamplerState(baseModel, CheckpointIo.LoadAdapterFrom(dir, baseModel, path), path);
                }

                return new SamplerState(Models.Get(request.BaseModel ?? throw new TinkerUserInputException("asample needs sampling_session_id, model_path or base_model.")), null, null);
            },
            requestId);
    }

    private void RegisterSampler(string samplerId, SamplerState state, string sessionId, MemoryLedger.Reservation reservation)
    {
        if (_samplers.TryRemove(samplerId, out _))
        {
            // A sample may still be decoding on the previous adapter: drop the reference and let the finalizers free it.
            Release(samplerId);
        }

        _samplers[samplerId] = state;
        Hold(samplerId, reservation);
        Store.SaveSampler(new SamplerRecord { SamplerId = samplerId, BaseModel = state.Base.Name, ModelPath = state.ModelPath, Owner = Options.Owner });
        Store.AddToSession(sessionId, Options.Owner, samplerId: samplerId);
    }
}
