using System.Collections.Concurrent;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Fakes;

/// <summary>
/// An in-memory backend for client tests: records every request in order, answers with configurable handlers and can
/// hold results back (<see cref="HoldResults"/>) so tests can observe submit-before-await ordering.
/// </summary>
internal sealed class FakeBackend : TinkerBackend
{
    private int _requestCounter;
    private readonly ConcurrentQueue<TaskCompletionSource> _held = new();

    public override string Name => "fake";

    /// <summary>Every request, in submission order.</summary>
    public ConcurrentQueue<object> Requests { get; } = new();

    public List<T> RequestsOf<T>() => Requests.OfType<T>().ToList();

    /// <summary>When true, results wait until <see cref="ReleaseAll"/>.</summary>
    public bool HoldResults { get; set; }

    public Func<ForwardBackwardInput, ForwardBackwardOutput> ForwardHandler { get; set; } = DefaultOutput;

    public Func<ForwardBackwardInput, ForwardBackwardOutput> ForwardBackwardHandler { get; set; } = DefaultOutput;

    public Func<SampleRequest, int, SampleResponse> SampleHandler { get; set; } = (r, _) => new SampleResponse
    {
        Sequences = Enumerable.Range(0, r.NumSamples).Select(i => new SampledSequence { StopReason = StopReason.Length, Tokens = [i], Logprobs = [-1.0] }).ToList(),
        PromptLogprobs = r.PromptLogprobs == true ? [null, .. Enumerable.Repeat<double?>(-0.5, r.Prompt.Length - 1)] : null,
    };

    public int SampleAttempts;

    public WeightsInfoResponse WeightsInfo { get; set; } = new() { BaseModel = "fake/base", IsLora = true, LoraRank = 8, TrainMlp = true, TrainAttn = false, TrainUnembed = true };

    public int Heartbeats;

    public void ReleaseAll()
    {
        HoldResults = false;
        while (_held.TryDequeue(out var tcs))
        {
            tcs.TrySetResult();
        }
    }

    public static ForwardBackwardOutput DefaultOutput(ForwardBackwardInput input) => new()
    {
        LossFnOutputType = "ArrayRecord",
        LossFnOutputs = input.Data.Select(d =>
        {
            var n = d.ModelInput.Length;
            return (IReadOnlyDictionary<string, TensorData>)new Dictionary<string, TensorData>
            {
                ["logprobs"] = TensorData.FromFloat32(Enumerable.Repeat(-1f, n).ToArray(), [n]),
                ["elementwise_loss"] = TensorData.FromFloat32(Enumerable.Repeat(1f, n).ToArray(), [n]),
            };
        }).ToList(),
        Metrics = new Dictionary<string, double> { ["loss:sum"] = input.Data.Sum(d => d.ModelInput.Length) },
    };

    private BackendOperation<T> Queue<T>(object request, Func<T> result)
    {
        Requests.Enqueue(request);
        var id = $"req-{Interlocked.Increment(ref _requestCounter)}";
        if (!HoldResults)
        {
            Task<T> task;
            try
            {
                task = Task.FromResult(result());
            }
            catch (Exception ex)
            {
                task = Task.FromException<T>(ex);
            }

            return new BackendOperation<T>(id, task);
        }

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _held.Enqueue(gate);
        return new BackendOperation<T>(id, gate.Task.ContinueWith(_ => result(), TaskScheduler.Default));
    }

    public override Task<GetServerCapabilitiesResponse> GetServerCapabilitiesAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new GetServerCapabilitiesResponse { SupportedModels = [new SupportedModel { ModelName = "fake/base", MaxContextLength = 128 }] });

    public override Task<CreateSessionResponse> CreateSessionAsync(CreateSessionRequest request, CancellationToken cancellationToken = default)
    {
        Requests.Enqueue(request);
        return Task.FromResult(new CreateSessionResponse { SessionId = "sess-1" });
    }

    public override Task SessionHeartbeatAsync(SessionHeartbeatRequest request, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Heartbeats);
        return Task.CompletedTask;
    }

    public override Task<BackendOperation<CreateModelResponse>> CreateModelAsync(CreateModelRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue(request, () => new CreateModelResponse { ModelId = $"{request.SessionId}:train:{request.ModelSeqId}" }));

    /// <summary>The <c>model_data.tokenizer_id</c> that get_info returns (none by default).</summary>
    public string? InfoTokenizerId { get; set; }

    public override Task<GetInfoResponse> GetInfoAsync(GetInfoRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(new GetInfoResponse { ModelId = request.ModelId, ModelData = new ModelData { ModelName = "fake/base", TokenizerId = InfoTokenizerId }, IsLora = true, LoraRank = 8 });

    public override Task<BackendOperation<ForwardBackwardOutput>> ForwardAsync(ForwardRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue(request, () => ForwardHandler(request.ForwardInput)));

    public override Task<BackendOperation<ForwardBackwardOutput>> ForwardBackwardAsync(ForwardBackwardRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue(request, () => ForwardBackwardHandler(request.ForwardBackwardInput)));

    public override Task<BackendOperation<OptimStepResponse>> OptimStepAsync(OptimStepRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue(request, () => new OptimStepResponse { Metrics = new Dictionary<string, double> { ["grad_norm:mean"] = 1.0 } }));

    public override Task<BackendOperation<SaveWeightsResponse>> SaveWeightsAsync(SaveWeightsRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue(request, () => new SaveWeightsResponse { Path = $"tinker://{request.ModelId}/weights/{request.Path}" }));

    public override Task<BackendOperation<SaveWeightsForSamplerResponse>> SaveWeightsForSamplerAsync(SaveWeightsForSamplerRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue(request, () => request.Path is null
            ? new SaveWeightsForSamplerResponse { SamplingSessionId = $"sess-1:sample:{request.SamplingSessionSeqId}" }
            : new SaveWeightsForSamplerResponse { Path = $"tinker://{request.ModelId}/sampler_weights/{request.Path}" }));

    public override Task<BackendOperation<LoadWeightsResponse>> LoadWeightsAsync(LoadWeightsRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue(request, () => new LoadWeightsResponse { Path = request.Path }));

    public override Task<BackendOperation<UnloadModelResponse>> UnloadModelAsync(UnloadModelRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue(request, () => new UnloadModelResponse { ModelId = request.ModelId }));

    public override Task<CreateSamplingSessionResponse> CreateSamplingSessionAsync(CreateSamplingSessionRequest request, CancellationToken cancellationToken = default)
    {
        Requests.Enqueue(request);
        return Task.FromResult(new CreateSamplingSessionResponse { SamplingSessionId = $"{request.SessionId}:sample:{request.SamplingSessionSeqId}" });
    }

    public override Task<BackendOperation<SampleResponse>> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default)
    {
        var attempt = Interlocked.Increment(ref SampleAttempts);
        return Task.FromResult(Queue(request, () => SampleHandler(request, attempt)));
    }

    public override Task<TinkerTokenizer> GetTokenizerAsync(string baseModel, CancellationToken cancellationToken = default) =>
        Task.FromResult<TinkerTokenizer>(new FakeTokenizer(baseModel));

    public override Task<WeightsInfoResponse> GetWeightsInfoAsync(WeightsInfoRequest request, CancellationToken cancellationToken = default)
    {
        Requests.Enqueue(request);
        return Task.FromResult(WeightsInfo);
    }

    public List<(string Op, string RunId, string? CheckpointId, long? Ttl)> RestCalls { get; } = [];

    public override Task<TrainingRun> GetTrainingRunAsync(string trainingRunId, AccessScope accessScope, CancellationToken cancellationToken = default)
    {
        RestCalls.Add(("get_run", trainingRunId, accessScope.ToString(), null));
        return Task.FromResult(new TrainingRun
        {
            TrainingRunId = trainingRunId,
            BaseModel = "fake/base",
            ModelOwner = "me",
            IsLora = true,
            Corrupted = false,
            LastRequestTime = DateTimeOffset.UnixEpoch,
        });
    }

    public override Task<TrainingRunsResponse> ListTrainingRunsAsync(int limit, int offset, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        Task.FromResult(new TrainingRunsResponse { TrainingRuns = [], Cursor = new Cursor { Offset = offset, Limit = limit, TotalCount = 0 } });

    public override Task<CheckpointsListResponse> ListCheckpointsAsync(string trainingRunId, CancellationToken cancellationToken = default) =>
        Task.FromResult(new CheckpointsListResponse { Checkpoints = [] });

    /// <summary>Checkpoints served by <see cref="ListUserCheckpointsAsync"/>.</summary>
    public List<Checkpoint> UserCheckpoints { get; } = [];

    public override Task<CheckpointsListResponse> ListUserCheckpointsAsync(int limit, int offset, CancellationToken cancellationToken = default)
    {
        RestCalls.Add(("list_user_checkpoints", string.Empty, $"{limit}/{offset}", null));
        return Task.FromResult(new CheckpointsListResponse
        {
            Checkpoints = UserCheckpoints.Skip(offset).Take(limit).ToList(),
            Cursor = new Cursor { Offset = offset, Limit = limit, TotalCount = UserCheckpoints.Count },
        });
    }

    public override Task<CheckpointArchiveUrlResponse> GetCheckpointArchiveUrlAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default)
    {
        RestCalls.Add(("archive", trainingRunId, checkpointId, null));
        return Task.FromResult(new CheckpointArchiveUrlResponse { Url = "http://example/archive.tar.gz", Expires = DateTimeOffset.UnixEpoch });
    }

    public override Task DeleteCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default)
    {
        RestCalls.Add(("delete", trainingRunId, checkpointId, null));
        return Task.CompletedTask;
    }

    public override Task PublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default)
    {
        RestCalls.Add(("publish", trainingRunId, checkpointId, null));
        return Task.CompletedTask;
    }

    public override Task UnpublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default)
    {
        RestCalls.Add(("unpublish", trainingRunId, checkpointId, null));
        return Task.CompletedTask;
    }

    public override Task SetCheckpointTtlAsync(string trainingRunId, string checkpointId, long? ttlSeconds, CancellationToken cancellationToken = default)
    {
        RestCalls.Add(("ttl", trainingRunId, checkpointId, ttlSeconds));
        return Task.CompletedTask;
    }

    public override Task<ListSessionsResponse> ListSessionsAsync(int limit, int offset, CancellationToken cancellationToken = default) =>
        Task.FromResult(new ListSessionsResponse { Sessions = ["sess-1"] });

    public override Task<GetSessionResponse> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Task.FromResult(new GetSessionResponse { TrainingRunIds = [], SamplerIds = [] });

    public override Task<GetSamplerResponse> GetSamplerAsync(string samplerId, CancellationToken cancellationToken = default) =>
        Task.FromResult(new GetSamplerResponse { SamplerId = samplerId, BaseModel = "fake/base" });

    private sealed class FakeTokenizer(string name) : TinkerTokenizer
    {
        public override string Name => name;

        public override int VocabSize => 256;

        public override int EosTokenId => 0;

        public override IReadOnlyList<int> Encode(string text, bool allowSpecialTokens = true) => System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToList();

        public override string Decode(IEnumerable<int> tokens) => System.Text.Encoding.UTF8.GetString(tokens.Select(t => (byte)t).ToArray());

        public override int? TokenToId(string token) => token.Length == 1 ? token[0] : null;
    }
}
