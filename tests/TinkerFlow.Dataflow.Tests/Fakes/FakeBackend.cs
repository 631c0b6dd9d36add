using System.Collections.Concurrent;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow.Tests.Fakes;

/// <summary>
/// An in-memory backend for the dataflow tests: logs every queued request ("fb", "optim", "save", "forward", "sample")
/// in submission order, can hold results until the test releases them (TaskCompletionSource gates, no sleeps), can
/// fail chosen requests, and lets tests await a condition on the log.
/// </summary>
internal sealed class FakeBackend : TinkerBackend
{
    private readonly ConcurrentQueue<TaskCompletionSource> _held = new();
    private readonly Lock _signalGate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _requestCounter;
    private int _outstandingSamples;

    public override string Name => "fake";

    /// <summary>Every queued request's kind, in submission order, plus markers the test adds.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    public ConcurrentQueue<object> Requests { get; } = new();

    public List<T> RequestsOf<T>() => Requests.OfType<T>().ToList();

    /// <summary>When true, results wait until released.</summary>
    public bool HoldResults { get; set; }

    /// <summary>Called for every queued request with its kind and 0-based index among requests of that kind; return an exception to fail it.</summary>
    public Func<string, int, Exception?>? Fail { get; set; }

    public Func<ForwardBackwardInput, ForwardBackwardOutput> ForwardBackwardHandler { get; set; } = DefaultOutput;

    /// <summary>The most sample requests that were outstanding (submitted, result not yet produced) at once.</summary>
    public int MaxOutstandingSamples { get; private set; }

    public int HeldCount => _held.Count;

    public void Mark(string marker)
    {
        Log.Enqueue(marker);
        Signal();
    }

    public int Count(string kind) => Log.Count(e => e == kind);

    /// <summary>Releases the oldest <paramref name="count"/> held results, in submission order.</summary>
    public void Release(int count)
    {
        for (var i = 0; i < count && _held.TryDequeue(out var gate); i++)
        {
            gate.TrySetResult();
        }
    }

    public void ReleaseAll()
    {
        HoldResults = false;
        while (_held.TryDequeue(out var gate))
        {
            gate.TrySetResult();
        }
    }

    /// <summary>Completes when <paramref name="condition"/> holds; re-checked at every request and release. Times out (a failure, not a wait) after 20 s.</summary>
    public async Task WhenAsync(Func<bool> condition)
    {
        var deadline = Task.Delay(TimeSpan.FromSeconds(20));
        while (true)
        {
            Task changed;
            lock (_signalGate)
            {
                changed = _changed.Task;
            }

            if (condition())
            {
                return;
            }

            if (await Task.WhenAny(changed, deadline) == deadline)
            {
                throw new TimeoutException("The condition did not hold within 20 s. Log: " + string.Join(",", Log));
            }
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

    private void Signal()
    {
        TaskCompletionSource changed;
        lock (_signalGate)
        {
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private BackendOperation<T> Queue<T>(string kind, object request, Func<T> result)
    {
        var index = Log.Count(e => e == kind);
        var failure = Fail?.Invoke(kind, index);
        Requests.Enqueue(request);
        Log.Enqueue(kind);
        var id = $"req-{Interlocked.Increment(ref _requestCounter)}";
        Task<T> task;
        if (!HoldResults)
        {
            task = failure is null ? Task.FromResult(result()) : Task.FromException<T>(failure);
        }
        else
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _held.Enqueue(gate);
            task = gate.Task.ContinueWith(
                _ =>
                {
                    Signal();
                    return failure is null ? result() : throw failure;
                },
                TaskScheduler.Default);
        }

        Signal();
        return new BackendOperation<T>(id, task);
    }

    public override Task<GetServerCapabilitiesResponse> GetServerCapabilitiesAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new GetServerCapabilitiesResponse { SupportedModels = [new SupportedModel { ModelName = "fake/base", MaxContextLength = 128 }] });

    public override Task<CreateSessionResponse> CreateSessionAsync(CreateSessionRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(new CreateSessionResponse { SessionId = "sess-1" });

    public override Task SessionHeartbeatAsync(SessionHeartbeatRequest request, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public override Task<BackendOperation<CreateModelResponse>> CreateModelAsync(CreateModelRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(new BackendOperation<CreateModelResponse>("create", Task.FromResult(new CreateModelResponse { ModelId = $"{request.SessionId}:train:{request.ModelSeqId}" })));

    public override Task<GetInfoResponse> GetInfoAsync(GetInfoRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(new GetInfoResponse { ModelId = request.ModelId, ModelData = new ModelData { ModelName = "fake/base" }, IsLora = true, LoraRank = 8 });

    public override Task<BackendOperation<ForwardBackwardOutput>> ForwardAsync(ForwardRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue("forward", request, () => DefaultOutput(request.ForwardInput)));

    public override Task<BackendOperation<ForwardBackwardOutput>> ForwardBackwardAsync(ForwardBackwardRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue("fb", request, () => ForwardBackwardHandler(request.ForwardBackwardInput)));

    public override Task<BackendOperation<OptimStepResponse>> OptimStepAsync(OptimStepRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue("optim", request, () => new OptimStepResponse { Metrics = new Dictionary<string, double> { ["grad_norm:mean"] = 1.0 } }));

    public override Task<BackendOperation<SaveWeightsResponse>> SaveWeightsAsync(SaveWeightsRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue("save_state", request, () => new SaveWeightsResponse { Path = $"tinker://{request.ModelId}/weights/{request.Path}" }));

    public override Task<BackendOperation<SaveWeightsForSamplerResponse>> SaveWeightsForSamplerAsync(SaveWeightsForSamplerRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue("save", request, () => request.Path is null
            ? new SaveWeightsForSamplerResponse { SamplingSessionId = $"sampler-{request.SamplingSessionSeqId}" }
            : new SaveWeightsForSamplerResponse { Path = $"tinker://{request.ModelId}/sampler_weights/{request.Path}" }));

    public override Task<BackendOperation<LoadWeightsResponse>> LoadWeightsAsync(LoadWeightsRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue("load", request, () => new LoadWeightsResponse { Path = request.Path }));

    public override Task<BackendOperation<UnloadModelResponse>> UnloadModelAsync(UnloadModelRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(Queue("unload", request, () => new UnloadModelResponse { ModelId = request.ModelId }));

    public override Task<CreateSamplingSessionResponse> CreateSamplingSessionAsync(CreateSamplingSessionRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(new CreateSamplingSessionResponse { SamplingSessionId = $"{request.SessionId}:sample:{request.SamplingSessionSeqId}" });

    public override Task<BackendOperation<SampleResponse>> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default)
    {
        lock (_signalGate)
        {
            _outstandingSamples++;
            MaxOutstandingSamples = Math.Max(MaxOutstandingSamples, _outstandingSamples);
        }

        return Task.FromResult(Queue("sample", request, () =>
        {
            lock (_signalGate)
            {
                _outstandingSamples--;
            }

            return new SampleResponse
            {
                Sequences = Enumerable.Range(0, request.NumSamples).Select(i => new SampledSequence { StopReason = StopReason.Length, Tokens = [i], Logprobs = [-1.0] }).ToList(),
            };
        }));
    }

    public override Task<TinkerTokenizer> GetTokenizerAsync(string baseModel, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The dataflow tests need no tokenizer.");

    public override Task<WeightsInfoResponse> GetWeightsInfoAsync(WeightsInfoRequest request, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task<TrainingRun> GetTrainingRunAsync(string trainingRunId, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task<TrainingRunsResponse> ListTrainingRunsAsync(int limit, int offset, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task<CheckpointsListResponse> ListCheckpointsAsync(string trainingRunId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task<CheckpointsListResponse> ListUserCheckpointsAsync(int limit, int offset, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task<CheckpointArchiveUrlResponse> GetCheckpointArchiveUrlAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task DeleteCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task PublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task UnpublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task SetCheckpointTtlAsync(string trainingRunId, string checkpointId, long? ttlSeconds, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task<ListSessionsResponse> ListSessionsAsync(int limit, int offset, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task<GetSessionResponse> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public override Task<GetSamplerResponse> GetSamplerAsync(string samplerId, CancellationToken cancellationToken = default) =>
        Task.FromResult(new GetSamplerResponse { SamplerId = samplerId, BaseModel = "fake/base" });
}
