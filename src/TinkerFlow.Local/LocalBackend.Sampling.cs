using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Limits;
using TinkerFlow.Local.Sampling;
using TinkerFlow.Local.Storage;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;

namespace TinkerFlow.Local;

public sealed partial class LocalBackend
{
    private readonly Sampler _sampler = new();

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
    public override Task<BackendOperation<SampleResponse>> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default)
    {
        var requestId = NewRequestId();
        MemoryLedger.Reservation reservation;
        try
        {
            // Refused before it is queued: the KV cache it would need, against the per-request limit and the budgets.
            reservation = Guard(() => AdmitSample(request), requestId);
        }
        catch (Exception ex)
        {
            return Task.FromException<BackendOperation<SampleResponse>>(ex);
        }

        var task = Task.Run(
            async () =>
            {
                using var held = reservation;
                var state = ResolveSampler(request, requestId);
                await _sampleSlots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    // The sample runs start to finish on this thread: TorchSharp dispose scopes are thread-local.
                    return Guard(
                        () =>
                        {
                            state.ObserveSeq(request.SeqId);
                            var prompt = request.Prompt.Chunks.All(c => c is EncodedTextChunk)
                                ? request.Prompt.ToInts()
                                : throw new TinkerUserInputException("The prompt has image chunks; the embedded engine's text models accept only encoded_text chunks.");
                            var tokenizer = state.Base.Tokenizer;
                            var response = _sampler.Sample(
                                state.Base.Model,
                                state.Adapter,
                                prompt,
                                request.NumSamples,
                                request.SamplingParams,
                                request.PromptLogprobs ?? false,
                                request.TopkPromptLogprobs,
                                tokens => tokenizer.Decode(tokens));
                            NativeSetup.AfterStep();
                            return response;
                        },
                        requestId);
                }
                finally
                {
                    _sampleSlots.Release();
                }
            },
            CancellationToken.None);
        return Task.FromResult(Queued(requestId, task));
    }

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
        if (_samplers.TryRemove(samplerId, out var previous))
        {
            previous.Dispose();
            Release(samplerId);
        }

        _samplers[samplerId] = state;
        Hold(samplerId, reservation);
        Store.SaveSampler(new SamplerRecord { SamplerId = samplerId, BaseModel = state.Base.Name, ModelPath = state.ModelPath, Owner = Options.Owner });
        Store.AddToSession(sessionId, Options.Owner, samplerId: samplerId);
    }
}
