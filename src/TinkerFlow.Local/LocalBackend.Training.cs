using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Limits;
using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Storage;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;

namespace TinkerFlow.Local;

public sealed partial class LocalBackend
{
    private TrainingSettings TrainingSettings =>
        new(Options.MaxTokensPerMicroBatch, Options.ActivationCheckpointing, Options.ActivationMemoryBudgetBytes);

    /// <inheritdoc/>
    public override Task<BackendOperation<CreateModelResponse>> CreateModelAsync(CreateModelRequest request, CancellationToken cancellationToken = default)
    {
        var requestId = NewRequestId();
        MemoryLedger.Reservation? reservation;
        try
        {
            // Admission runs before the request is accepted, so an oversized model is refused with nothing allocated.
            reservation = Guard(() => AdmitModel(request.SessionId, request.ModelSeqId, request.BaseModel, request.LoraConfig ?? new LoraConfig()), requestId);
        }
        catch (Exception ex)
        {
            return Task.FromException<BackendOperation<CreateModelResponse>>(ex);
        }

        var task = Task.Run(() => Guard(() => CreateModel(request, reservation), requestId), CancellationToken.None);
        return Task.FromResult(Queued(requestId, task));
    }

    /// <inheritdoc/>
    public override Task<GetInfoResponse> GetInfoAsync(GetInfoRequest request, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            var model = GetModel(request.ModelId);
            return new GetInfoResponse
            {
                ModelId = model.ModelId,
                ModelData = new ModelData { Arch = model.Base.Config.ModelType, ModelName = model.Base.Name, TokenizerId = model.Base.Name },
                IsLora = true,
                LoraRank = model.LoraConfig.Rank,
                ModelName = model.Base.Name,
            };
        });

    /// <inheritdoc/>
    public override Task<BackendOperation<ForwardBackwardOutput>> ForwardAsync(ForwardRequest request, CancellationToken cancellationToken = default) =>
        RunBatch(request.ModelId, request.SeqId, request.ForwardInput, backward: false, "forward");

    /// <inheritdoc/>
    public override Task<BackendOperation<ForwardBackwardOutput>> ForwardBackwardAsync(ForwardBackwardRequest request, CancellationToken cancellationToken = default) =>
        RunBatch(request.ModelId, request.SeqId, request.ForwardBackwardInput, backward: true, "forward_backward");

    /// <summary>Queues a forward (or forward + backward) of <paramref name="input"/>, admitted first, with the heap trim after it.</summary>
    private Task<BackendOperation<ForwardBackwardOutput>> RunBatch(string? modelId, int? seqId, ForwardBackwardInput input, bool backward, string what, [CallerMemberName] string caller = "") =>
        Enqueue(
            modelId,
            seqId,
            model =>
            {
                var output = TrainingComputation.Run(model, input, backward, TrainingSettings);
                NativeSetup.AfterStep(WorkingSetBytes(model, input, backward));
                return output;
            },
            () => AdmitBatch(modelId, input, what),
            caller);

    /// <summary>The engine's estimate of a (validated) batch's peak memory beyond the weights, for the heap trim after it.</summary>
    private long WorkingSetBytes(TrainingModel model, ForwardBackwardInput input, bool backward) =>
        TrainingMemoryEstimate.ForwardBackwardBytes(
            model.Base.Config,
            model.Adapter.Options.Rank,
            [.. input.Data.Select(d => d.ModelInput.Length)],
            TrainingSettings.MaxTokensPerMicroBatch,
            backward,
            TrainingSettings.Checkpointing,
            TrainingSettings.ActivationBudgetBytes);

    /// <inheritdoc/>
    public override Task<BackendOperation<OptimStepResponse>> OptimStepAsync(OptimStepRequest request, CancellationToken cancellationToken = default) =>
        Enqueue(request.ModelId, request.SeqId, model =>
        {
            var p = request.AdamParams;
            var metrics = model.Optimizer.Step(new AdamWHyperparameters(p.LearningRate, p.Beta1, p.Beta2, p.Eps, p.WeightDecay, p.GradClipNorm));
            model.Steps++;
            Store.TouchRun(model.ModelId);
            NativeSetup.AfterStep();
            return new OptimStepResponse { Metrics = metrics.ToDictionary(kv => kv.Key, kv => kv.Value) };
        });

    /// <inheritdoc/>
    public override Task<BackendOperation<SaveWeightsResponse>> SaveWeightsAsync(SaveWeightsRequest request, CancellationToken cancellationToken = default) =>
        Enqueue(request.ModelId, request.SeqId, model =>
        {
            var checkpoint = CheckpointIo.SaveTrainingState(Store, model, request.Path, request.Overwrite, request.TtlSeconds);
            return new SaveWeightsResponse { Path = checkpoint.TinkerPath };
        });

    /// <inheritdoc/>
    public override Task<BackendOperation<SaveWeightsForSamplerResponse>> SaveWeightsForSamplerAsync(SaveWeightsForSamplerRequest request, CancellationToken cancellationToken = default) =>
        Enqueue(request.ModelId, request.SeqId, model =>
        {
            if (request.Path is { } name)
            {
                var checkpoint = CheckpointIo.SaveSamplerWeights(Store, model, name, request.TtlSeconds);
                return new SaveWeightsForSamplerResponse { Path = checkpoint.TinkerPath };
            }

            var seq = request.SamplingSessionSeqId
                ?? throw new TinkerUserInputException("save_weights_for_sampler needs either path (a name) or sampling_session_seq_id (an ephemeral snapshot).");
            var samplerId = $"{model.SessionId}:sample:{seq}";
            var reservation = AdmitSampler(samplerId, model.Base, model.LoraConfig);
            try
            {
                var snapshot = model.Adapter.Clone();
                RegisterSampler(samplerId, new SamplerState(model.Base, snapshot, modelPath: null), model.SessionId, reservation);
            }
            catch
            {
                reservation.Dispose();
                throw;
            }

            return new SaveWeightsForSamplerResponse { SamplingSessionId = samplerId };
        });

    /// <inheritdoc/>
    public override Task<BackendOperation<LoadWeightsResponse>> LoadWeightsAsync(LoadWeightsRequest request, CancellationToken cancellationToken = default)
    {
        if (request.ModelId is null)
        {
            // Create-via-load addressing (SDK ≥0.24.1 with create_model_via_load_weights).
            var requestId = NewRequestId();
            var task = Task.Run(
                () => Guard(
                    () =>
                    {
                        var sessionId = request.SessionId ?? throw new TinkerUserInputException("load_weights needs model_id, or session_id + model_seq_id to create the model.");
                        var seq = request.ModelSeqId ?? throw new TinkerUserInputException("load_weights with session_id needs model_seq_id.");
                        var (_, _, run) = Store.ResolveTinkerPath(request.Path, Options.Owner);
                        var baseModel = request.BaseModel ?? run.BaseModel;
                        var created = CreateModel(
                            new CreateModelRequest
                            {
                                SessionId = sessionId,
                                ModelSeqId = seq,
                                BaseModel = baseModel,
                                UserMetadata = request.UserMetadata,
                                LoraConfig = run.LoraConfig,
                            },
                            AdmitModel(sessionId, seq, baseModel, run.LoraConfig));
                        var model = GetModel(created.ModelId);
                        return model.Executor.Enqueue(null, () => Guard(() => CheckpointIo.LoadTrainingState(Store, model, request.Path, request.Optimizer, Options.Owner), requestId)).GetAwaiter().GetResult()
                            with { ModelId = created.ModelId };
                    },
                    requestId),
                CancellationToken.None);
            return Task.FromResult(Queued(requestId, task));
        }

        return Enqueue(request.ModelId, request.SeqId, model => CheckpointIo.LoadTrainingState(Store, model, request.Path, request.Optimizer, Options.Owner));
    }

    /// <inheritdoc/>
    public override Task<BackendOperation<UnloadModelResponse>> UnloadModelAsync(UnloadModelRequest request, CancellationToken cancellationToken = default)
    {
        var requestId = NewRequestId();
        var task = Task.Run(
            () => Guard(
                () =>
                {
                    var model = GetModel(request.ModelId);
                    model.Executor.Enqueue<bool>(null, () => true).GetAwaiter().GetResult();
                    if (_models.TryRemove(model.ModelId, out _))
                    {
                        model.Dispose();
                        Release(model.ModelId);
                    }

                    return new UnloadModelResponse { ModelId = request.ModelId };
                },
                requestId),
            CancellationToken.None);
        return Task.FromResult(Queued(requestId, task));
    }

    /// <summary>Builds an admitted training model; the reservation is held while it is loaded and released on any failure.</summary>
    private CreateModelResponse CreateModel(CreateModelRequest request, MemoryLedger.Reservation? reservation)
    {
        try
        {
            var response = CreateModelCore(request, reservation);
            return response;
        }
        catch
        {
            reservation?.Dispose();
            throw;
        }
    }

    private CreateModelResponse CreateModelCore(CreateModelRequest request, MemoryLedger.Reservation? reservation)
    {
        var session = Store.GetSession(request.SessionId, Options.Owner);
        var lora = request.LoraConfig ?? new LoraConfig();
        var modelId = $"{session.SessionId}:train:{request.ModelSeqId}";
        if (_models.ContainsKey(modelId))
        {
            // A replayed create_model: the model already exists.
            reservation?.Dispose();
            return new CreateModelResponse { ModelId = modelId };
        }

        var baseModel = Models.Get(request.BaseModel);
        var seed = lora.Seed ?? RandomNumberGenerator.GetInt32(int.MaxValue);
        var adapter = LoraAdapter.Create(baseModel.Model, new LoraAdapterOptions
        {
            Rank = lora.Rank,
            Alpha = LoraAlpha,
            Seed = seed,
            TargetModules = LoraAdapterOptions.Targets(lora.TrainAttn, lora.TrainMlp, lora.TrainUnembed),
        });
        var model = new TrainingModel(modelId, Options.Owner, session.SessionId, baseModel, lora with { Seed = seed }, adapter, Options.SeqGapGrace);
        if (!_models.TryAdd(modelId, model))
        {
            model.Dispose();
            reservation?.Dispose();
            return new CreateModelResponse { ModelId = modelId };
        }

        Hold(modelId, reservation);

        var now = Store.Now;
        Store.SaveRun(new RunRecord
        {
            TrainingRunId = modelId,
            BaseModel = baseModel.Name,
            ModelOwner = Options.Owner,
            SessionId = session.SessionId,
            LoraConfig = lora with { Seed = seed },
            UserMetadata = request.UserMetadata,
            Created = now,
            LastRequestTime = now,
        });
        Store.AddToSession(session.SessionId, Options.Owner, trainingRunId: modelId);
        return new CreateModelResponse { ModelId = modelId };
    }

    /// <summary>PEFT <c>lora_alpha</c> of every adapter: the update is scaled by 32 / rank.</summary>
    internal const double LoraAlpha = 32;

    private Task<BackendOperation<T>> Enqueue<T>(string? modelId, int? seqId, Func<TrainingModel, T> work, Action? admit = null, [CallerMemberName] string caller = "")
    {
        var requestId = NewRequestId();
        var trace = EngineTrace.Queued(OperationName(caller), requestId, modelId, seqId: seqId);
        if (admit is not null)
        {
            try
            {
                Guard(
                    () =>
                    {
                        admit();
                        return true;
                    },
                    requestId);
            }
            catch (Exception ex)
            {
                return Task.FromException<BackendOperation<T>>(ex);
            }
        }

        Task<T> task;
        try
        {
            var model = GetModel(modelId);
            task = model.Executor.Enqueue(seqId, () => trace.Run(() => Guard(() => work(model), requestId)));
        }
        catch (Exception ex)
        {
            task = Task.FromException<T>(ex is TinkerRequestException ? ex : new TinkerRequestException(ex.Message, RequestErrorCategory.User, status: 400, requestId: requestId, innerException: ex));
        }

        return Task.FromResult(new BackendOperation<T>(requestId, task, trace.Started));
    }

    /// <summary>The wire name of the operation a backend method implements (ForwardBackwardAsync → forward_backward).</summary>
    private static string OperationName(string method) => method switch
    {
        nameof(ForwardAsync) => "forward",
        nameof(ForwardBackwardAsync) => "forward_backward",
        nameof(OptimStepAsync) => "optim_step",
        nameof(SaveWeightsAsync) => "save_weights",
        nameof(SaveWeightsForSamplerAsync) => "save_weights_for_sampler",
        nameof(LoadWeightsAsync) => "load_weights",
        _ => method,
    };
}
