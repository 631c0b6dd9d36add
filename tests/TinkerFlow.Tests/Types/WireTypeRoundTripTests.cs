using System.Text.Json;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Types;

/// <summary>Every wire type built in code: serialise → deserialise → serialise gives the same JSON, defaults are
/// written, nulls are omitted and the literal "type" discriminators are present.</summary>
public class WireTypeRoundTripTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static TheoryData<string, Func<string>> Samples => new()
    {
        { "AdamParams", () => Check(new AdamParams { LearningRate = 3e-5, WeightDecay = 0.01 }) },
        { "LoraConfig", () => Check(new LoraConfig { Rank = 4, Seed = 1 }) },
        { "SamplingParams", () => Check(new SamplingParams { MaxTokens = 8, Stop = "x" }) },
        { "ForwardBackwardRequest", () => Check(new ForwardBackwardRequest { ForwardBackwardInput = Input(), ModelId = "m", SeqId = 1 }) },
        { "ForwardRequest", () => Check(new ForwardRequest { ForwardInput = Input(), ModelId = "m" }) },
        { "ForwardBackwardOutput", () => Check(new ForwardBackwardOutput
            {
                LossFnOutputType = "ArrayRecord",
                LossFnOutputs = [new Dictionary<string, TensorData> { ["logprobs"] = TensorData.FromFloat32([-0.5f]) }],
                Metrics = new Dictionary<string, double> { ["loss:sum"] = 0.5 },
            }) },
        { "OptimStepRequest", () => Check(new OptimStepRequest { AdamParams = new AdamParams(), ModelId = "m", SeqId = 2 }) },
        { "OptimStepResponse", () => Check(new OptimStepResponse { Metrics = new Dictionary<string, double> { ["grad_norm:mean"] = 1 } }) },
        { "SampleRequest", () => Check(new SampleRequest { Prompt = ModelInput.FromInts([1]), SamplingParams = new SamplingParams(), SamplingSessionId = "s:sample:0", SeqId = 0 }) },
        { "SampleResponse", () => Check(new SampleResponse
            {
                Sequences = [new SampledSequence { StopReason = StopReason.Stop, Tokens = [1, 2], Logprobs = [-0.25, -0.5] }],
                PromptLogprobs = [null, -1.5],
                TopkPromptLogprobs = [null, [new TopkPromptLogprob(3, -0.75)]],
                PromptCacheHitTokens = 1,
            }) },
        { "SaveWeightsRequest", () => Check(new SaveWeightsRequest { ModelId = "m", Path = "step-1", TtlSeconds = 60 }) },
        { "SaveWeightsResponse", () => Check(new SaveWeightsResponse { Path = "tinker://m/weights/step-1" }) },
        { "SaveWeightsForSamplerRequest", () => Check(new SaveWeightsForSamplerRequest { ModelId = "m", SamplingSessionSeqId = 0, SeqId = 3 }) },
        { "SaveWeightsForSamplerResponse", () => Check(new SaveWeightsForSamplerResponse { SamplingSessionId = "s:sample:0" }) },
        { "LoadWeightsRequest", () => Check(new LoadWeightsRequest { ModelId = "m", Path = "tinker://m/weights/a", Optimizer = true, SeqId = 4 }) },
        { "LoadWeightsResponse", () => Check(new LoadWeightsResponse { Path = "tinker://m/weights/a" }) },
        { "CreateModelRequest", () => Check(new CreateModelRequest { SessionId = "s", ModelSeqId = 0, BaseModel = "b", LoraConfig = new LoraConfig() }) },
        { "CreateModelResponse", () => Check(new CreateModelResponse { ModelId = "s:train:0" }) },
        { "CreateSessionRequest", () => Check(new CreateSessionRequest { SdkVersion = "0.18.2" }) },
        { "CreateSessionResponse", () => Check(new CreateSessionResponse { SessionId = "s", ErrorMessage = "e" }) },
        { "SessionHeartbeatRequest", () => Check(new SessionHeartbeatRequest { SessionId = "s" }) },
        { "SessionHeartbeatResponse", () => Check(new SessionHeartbeatResponse()) },
        { "CreateSamplingSessionRequest", () => Check(new CreateSamplingSessionRequest { SessionId = "s", SamplingSessionSeqId = 1, BaseModel = "b" }) },
        { "CreateSamplingSessionResponse", () => Check(new CreateSamplingSessionResponse { SamplingSessionId = "s:sample:1" }) },
        { "GetInfoRequest", () => Check(new GetInfoRequest { ModelId = "m" }) },
        { "GetInfoResponse", () => Check(new GetInfoResponse { ModelData = new ModelData { ModelName = "b" }, ModelId = "m" }) },
        { "UnloadModelRequest", () => Check(new UnloadModelRequest { ModelId = "m" }) },
        { "UnloadModelResponse", () => Check(new UnloadModelResponse { ModelId = "m" }) },
        { "GetServerCapabilitiesResponse", () => Check(new GetServerCapabilitiesResponse { SupportedModels = [new SupportedModel { ModelName = "b", MaxContextLength = 4096 }] }) },
        { "UntypedApiFuture", () => Check(new UntypedApiFuture { RequestId = "r" }) },
        { "FutureRetrieveRequest", () => Check(new FutureRetrieveRequest { RequestId = "r", AllowMetadataOnly = true }) },
        { "TryAgainResponse", () => Check(new TryAgainResponse { RequestId = "r", QueueState = QueueState.PausedCapacity }) },
        { "FutureMetadataResponse", () => Check(new FutureMetadataResponse { ResponsePayloadSize = 10 }) },
        { "RequestFailedResponse", () => Check(new RequestFailedResponse { Error = "bad", Category = RequestErrorCategory.Server }) },
        { "Checkpoint", () => Check(Ckpt()) },
        { "CheckpointsListResponse", () => Check(new CheckpointsListResponse { Checkpoints = [Ckpt()] }) },
        { "Cursor", () => Check(new Cursor { Offset = 1, Limit = 2, TotalCount = 3 }) },
        { "TrainingRun", () => Check(new TrainingRun { TrainingRunId = "m", BaseModel = "b", ModelOwner = "o", IsLora = true, LastRequestTime = T0, LastCheckpoint = Ckpt() }) },
        { "TrainingRunsResponse", () => Check(new TrainingRunsResponse { TrainingRuns = [], Cursor = new Cursor { Offset = 0, Limit = 20, TotalCount = 0 } }) },
        { "WeightsInfoRequest", () => Check(new WeightsInfoRequest { TinkerPath = "tinker://m/weights/a" }) },
        { "WeightsInfoResponse", () => Check(new WeightsInfoResponse { BaseModel = "b", IsLora = false }) },
        { "CheckpointArchiveUrlResponse", () => Check(new CheckpointArchiveUrlResponse { Url = "https://x", Expires = T0 }) },
        { "SetCheckpointTtlRequest", () => Check(new SetCheckpointTtlRequest { TtlSeconds = 5 }) },
        { "ListSessionsResponse", () => Check(new ListSessionsResponse { Sessions = ["s"] }) },
        { "GetSessionResponse", () => Check(new GetSessionResponse { TrainingRunIds = ["m"], SamplerIds = [] }) },
        { "GetSamplerResponse", () => Check(new GetSamplerResponse { SamplerId = "s:sample:0", BaseModel = "b" }) },
        { "ClientConfigRequest", () => Check(new ClientConfigRequest { SdkVersion = "0.24.1" }) },
        { "ClientConfigResponse", () => Check(new ClientConfigResponse { UsePyqwestTransport = false }) },
        { "DynamicConfigResponse", () => Check(new DynamicConfigResponse { RefreshIntervalSec = 60 }) },
        { "HealthResponse", () => Check(new HealthResponse { Status = "ok" }) },
        { "AuthTokenResponse", () => Check(new AuthTokenResponse { Jwt = "a.b.c" }) },
        { "TelemetrySendRequest", () => Check(new TelemetrySendRequest
            {
                Events =
                [
                    new SessionStartEvent { EventId = "e1", EventSessionIndex = 0, Severity = TelemetrySeverity.Info, Timestamp = T0 },
                    new GenericEvent { EventId = "e2", EventSessionIndex = 1, Severity = TelemetrySeverity.Warning, Timestamp = T0, EventName = "n" },
                ],
                Platform = "Linux",
                SdkVersion = "0.24.1",
                SessionId = "s",
            }) },
        { "TelemetryResponse", () => Check(new TelemetryResponse { Status = "accepted" }) },
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void WireType_RoundTripsAndOmitsNulls(string name, Func<string> check)
    {
        var json = check();
        using var doc = JsonDocument.Parse(json);
        Assert.True(NoNullProperty(doc.RootElement), $"{name} wrote a null-valued property: {json}");
    }

    [Theory]
    [InlineData("OptimStepRequest", "optim_step")]
    [InlineData("SampleRequest", "sample")]
    [InlineData("SaveWeightsRequest", "save_weights")]
    [InlineData("SaveWeightsForSamplerRequest", "save_weights_for_sampler")]
    [InlineData("LoadWeightsRequest", "load_weights")]
    [InlineData("CreateModelRequest", "create_model")]
    [InlineData("CreateSessionRequest", "create_session")]
    [InlineData("SessionHeartbeatRequest", "session_heartbeat")]
    [InlineData("CreateSamplingSessionRequest", "create_sampling_session")]
    [InlineData("GetInfoRequest", "get_info")]
    [InlineData("UnloadModelRequest", "unload_model")]
    [InlineData("TryAgainResponse", "try_again")]
    [InlineData("SampleResponse", "sample")]
    public void WireType_WritesLiteralTypeDiscriminator(string name, string expectedType)
    {
        var json = Samples.Single(row => (string)row[0] == name)[1] is Func<string> f ? f() : "";
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(expectedType, doc.RootElement.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("ForwardBackwardRequest")]
    [InlineData("ForwardRequest")]
    [InlineData("FutureRetrieveRequest")]
    [InlineData("TelemetrySendRequest")]
    public void WireType_ForwardAndRetrieveHaveNoTypeField(string name)
    {
        var json = Samples.Single(row => (string)row[0] == name)[1] is Func<string> f ? f() : "";
        using var doc = JsonDocument.Parse(json);
        Assert.False(doc.RootElement.TryGetProperty("type", out _));
    }

    [Fact]
    public void SampleRequest_WritesDefaultsAndOmitsUnsetOptionals()
    {
        var json = TinkerJson.Serialize(new SampleRequest { Prompt = ModelInput.FromInts([1]), SamplingParams = new SamplingParams() });
        JsonAssert.Equal(
            """
            {"num_samples":1,"prompt":{"chunks":[{"type":"encoded_text","tokens":[1]}]},
             "sampling_params":{"temperature":1,"top_k":-1,"top_p":1},"topk_prompt_logprobs":0,"type":"sample"}
            """,
            json);
    }

    [Fact]
    public void SampleRequest_Validation()
    {
        Assert.Contains("sample.num_samples must be >= 1, got 0",
            Assert.Throws<ArgumentException>(() => new SampleRequest { NumSamples = 0, Prompt = ModelInput.Empty, SamplingParams = new() }).Message);
        Assert.Contains("sample.model_path must start with 'tinker://'",
            Assert.Throws<ArgumentException>(() => new SampleRequest { ModelPath = "/tmp/x", Prompt = ModelInput.Empty, SamplingParams = new() }).Message);
        Assert.Contains("sample.topk_prompt_logprobs must be >= 0",
            Assert.Throws<ArgumentException>(() => new SampleRequest { TopkPromptLogprobs = -1, Prompt = ModelInput.Empty, SamplingParams = new() }).Message);
    }

    [Fact]
    public void SaveWeightsRequest_WritesOverwriteAndValidatesName()
    {
        JsonAssert.Equal(
            """{"model_id":"m","path":"a","overwrite":false,"type":"save_weights"}""",
            TinkerJson.Serialize(new SaveWeightsRequest { ModelId = "m", Path = "a" }));
        Assert.Contains("save_weights.path must be a checkpoint name",
            Assert.Throws<ArgumentException>(() => new SaveWeightsRequest { ModelId = "m", Path = "../etc" }).Message);
        Assert.Throws<ArgumentException>(() => new SaveWeightsRequest { ModelId = "m", Path = "a/b" });
        Assert.Throws<ArgumentException>(() => new SaveWeightsRequest { ModelId = "m", Path = "" });
        Assert.Contains("save_weights.ttl_seconds must be >= 1, got 0",
            Assert.Throws<ArgumentException>(() => new SaveWeightsRequest { ModelId = "m", Path = "a", TtlSeconds = 0 }).Message);
        Assert.Throws<ArgumentException>(() => new SaveWeightsForSamplerRequest { ModelId = "m", Path = "x\ny" });
    }

    [Fact]
    public void LoadWeightsRequest_PathMustBeTinkerPath() =>
        Assert.Contains("load_weights.path must start with 'tinker://'",
            Assert.Throws<ArgumentException>(() => new LoadWeightsRequest { Path = "weights/a" }).Message);

    [Fact]
    public void SetCheckpointTtlRequest_WritesNull()
    {
        Assert.Equal("""{"ttl_seconds":null}""", TinkerJson.Serialize(new SetCheckpointTtlRequest()));
        Assert.Null(TinkerJson.Deserialize<SetCheckpointTtlRequest>("""{"ttl_seconds":null}""").TtlSeconds);
        Assert.Throws<ArgumentException>(() => new SetCheckpointTtlRequest { TtlSeconds = -5 });
    }

    [Fact]
    public void ClientConfigResponse_MissingKeysTakeSdkDefaults()
    {
        var config = TinkerJson.Deserialize<ClientConfigResponse>("""{"use_pyqwest_transport":false,"some_future_flag":1}""");
        Assert.False(config.UsePyqwestTransport);
        Assert.False(config.PjwtAuthEnabled);
        Assert.False(config.ProtoWriteFwdbwd);
        Assert.True(config.ParallelFwdbwdChunks);
        Assert.True(config.SampleEnableStuckDetection);
        Assert.Equal("api_key", config.CredentialDefaultSource);
        Assert.Equal(10_485_760, config.SampleDispatchBytesSemaphoreSize);
        Assert.Equal(52_428_800, config.InflightResponseBytesSemaphoreSize);
        Assert.Equal(3600, config.BillingExceptionMaxPauseDurationSec);
        Assert.Equal(2000, config.SampleMaxConcurrentRequests);
        Assert.Equal(1024, config.FwdbwdMaxChunkLen);
        Assert.Equal(5_000_000, config.FwdbwdMaxChunkBytesCount);
        Assert.Equal(50_000_000, config.FwdbwdDispatchBytesSemaphoreSize);
    }

    [Theory]
    [InlineData("user", RequestErrorCategory.User)]
    [InlineData("server", RequestErrorCategory.Server)]
    [InlineData("unknown", RequestErrorCategory.Unknown)]
    [InlineData("quota", RequestErrorCategory.Unknown)]
    public void RequestFailedResponse_UnknownCategoryReadsAsUnknown(string category, RequestErrorCategory expected) =>
        Assert.Equal(expected, TinkerJson.Deserialize<RequestFailedResponse>($$"""{"error":"x","category":"{{category}}"}""").Category);

    [Fact]
    public void Responses_ToleratePresentOrMissingTypeField()
    {
        Assert.Equal("tinker://m/sampler_weights/s", TinkerJson.Deserialize<SaveWeightsForSamplerResponse>("""{"path":"tinker://m/sampler_weights/s"}""").Path);
        Assert.Equal("m", TinkerJson.Deserialize<CreateModelResponse>("""{"type":"create_model","model_id":"m"}""").ModelId);
        Assert.Equal("m", TinkerJson.Deserialize<GetInfoRequest>("""{"type":"something_else","model_id":"m"}""").ModelId);
    }

    [Fact]
    public void Deserialize_MissingFieldsKeepSdkDefaults()
    {
        var sampling = TinkerJson.Deserialize<SamplingParams>("""{"max_tokens":5}""");
        Assert.Equal(new SamplingParams { MaxTokens = 5 }, sampling);
        Assert.Equal((1.0, -1, 1.0), (sampling.Temperature, sampling.TopK, sampling.TopP));
        var lora = TinkerJson.Deserialize<LoraConfig>("""{"rank":4,"train_mlp":false}""");
        Assert.Equal((4, true, false, true), (lora.Rank, lora.TrainUnembed, lora.TrainMlp, lora.TrainAttn));
        var sample = TinkerJson.Deserialize<SampleRequest>("""{"prompt":{"chunks":[]},"sampling_params":{}}""");
        Assert.Equal(1, sample.NumSamples);
        var session = TinkerJson.Deserialize<CreateSessionRequest>("""{"sdk_version":"0.18.2"}""");
        Assert.Empty(session.Tags);
        Assert.Empty(session.UserMetadata);
        Assert.Empty(TinkerJson.Deserialize<ForwardBackwardOutput>("""{"loss_fn_output_type":"ArrayRecord","loss_fn_outputs":[]}""").Metrics);
        Assert.Equal(300, TinkerJson.Deserialize<DynamicConfigResponse>("{}").RefreshIntervalSec);
        var generic = Assert.IsType<GenericEvent>(TinkerJson.Deserialize<TelemetryEvent>(
            """{"event":"GENERIC_EVENT","event_id":"e","event_session_index":0,"severity":"INFO","timestamp":"2026-01-01T00:00:00Z","event_name":"n"}"""));
        Assert.Empty(generic.EventData);
    }

    [Fact]
    public void Responses_MissingRequiredFieldIsAJsonError()
    {
        var ex = Assert.Throws<JsonException>(() => TinkerJson.Deserialize<CreateModelResponse>("""{"type":"create_model"}"""));
        Assert.Contains("model_id", ex.Message);
        Assert.Throws<JsonException>(() => TinkerJson.Deserialize<CreateModelResponse>("""{"model_id":null}"""));
    }

    [Fact]
    public void Datetimes_AreIso8601WithZForUtc()
    {
        var json = TinkerJson.Serialize(new CheckpointArchiveUrlResponse { Url = "u", Expires = new DateTimeOffset(2026, 1, 1, 0, 15, 0, 250, TimeSpan.Zero) });
        Assert.Equal("""{"url":"u","expires":"2026-01-01T00:15:00.25Z"}""", json);
        var naive = TinkerJson.Deserialize<CheckpointArchiveUrlResponse>("""{"url":"u","expires":"2026-01-01T00:15:00"}""");
        Assert.Equal(TimeSpan.Zero, naive.Expires!.Value.Offset);
        Assert.Throws<JsonException>(() => TinkerJson.Deserialize<CheckpointArchiveUrlResponse>("""{"url":"u","expires":"tomorrow"}"""));
    }

    private static bool NoNullProperty(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().All(p => p.Value.ValueKind != JsonValueKind.Null && NoNullProperty(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().All(NoNullProperty),
        _ => true,
    };

    private static ForwardBackwardInput Input() => new()
    {
        Data = [Datum.Create(ModelInput.FromInts([1, 2]), new Dictionary<string, object> { ["target_tokens"] = new[] { 2, 3 }, ["weights"] = new[] { 1.0, 1.0 } })],
        LossFn = LossFnType.CrossEntropy,
    };

    private static Checkpoint Ckpt() => new()
    {
        CheckpointId = "weights/a",
        CheckpointType = CheckpointType.Training,
        Time = T0,
        TinkerPath = "tinker://m/weights/a",
    };

    /// <summary>Serialise, parse back, serialise again: both texts must be the same JSON.</summary>
    private static string Check<T>(T value)
    {
        var first = TinkerJson.Serialize(value);
        var second = TinkerJson.Serialize(TinkerJson.Deserialize<T>(first));
        JsonAssert.Equal(first, second);
        return first;
    }
}
