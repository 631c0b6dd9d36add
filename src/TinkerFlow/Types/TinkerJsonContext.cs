using System.Text.Json;
using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// The source-generated System.Text.Json context for every Tinker wire type: snake_case names, nulls omitted
/// (except where a type says otherwise), discriminators accepted in any position, and nullable annotations enforced.
/// Use it through <see cref="TinkerJson"/>, or pass <c>TinkerJsonContext.Default.&lt;Type&gt;</c> to <see cref="JsonSerializer"/>.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowOutOfOrderMetadataProperties = true,
    RespectNullableAnnotations = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    Converters = [typeof(TinkerDateTimeOffsetConverter)])]
// Core data
[JsonSerializable(typeof(ModelInput))]
[JsonSerializable(typeof(ModelInputChunk))]
[JsonSerializable(typeof(EncodedTextChunk))]
[JsonSerializable(typeof(ImageChunk))]
[JsonSerializable(typeof(ImageAssetPointerChunk))]
[JsonSerializable(typeof(TensorData))]
[JsonSerializable(typeof(TensorDType))]
[JsonSerializable(typeof(Datum))]
[JsonSerializable(typeof(AdamParams))]
[JsonSerializable(typeof(LoraConfig))]
[JsonSerializable(typeof(SamplingParams))]
[JsonSerializable(typeof(StopCondition))]
[JsonSerializable(typeof(TopkPromptLogprob))]
[JsonSerializable(typeof(StopReason))]
// Training
[JsonSerializable(typeof(ForwardBackwardInput))]
[JsonSerializable(typeof(ForwardBackwardRequest))]
[JsonSerializable(typeof(ForwardRequest))]
[JsonSerializable(typeof(ForwardBackwardOutput))]
[JsonSerializable(typeof(OptimStepRequest))]
[JsonSerializable(typeof(OptimStepResponse))]
[JsonSerializable(typeof(CreateModelRequest))]
[JsonSerializable(typeof(CreateModelResponse))]
[JsonSerializable(typeof(GetInfoRequest))]
[JsonSerializable(typeof(GetInfoResponse))]
[JsonSerializable(typeof(ModelData))]
[JsonSerializable(typeof(UnloadModelRequest))]
[JsonSerializable(typeof(UnloadModelResponse))]
// Weights
[JsonSerializable(typeof(SaveWeightsRequest))]
[JsonSerializable(typeof(SaveWeightsResponse))]
[JsonSerializable(typeof(SaveWeightsForSamplerRequest))]
[JsonSerializable(typeof(SaveWeightsForSamplerResponse))]
[JsonSerializable(typeof(LoadWeightsRequest))]
[JsonSerializable(typeof(LoadWeightsResponse))]
[JsonSerializable(typeof(WeightsInfoRequest))]
[JsonSerializable(typeof(WeightsInfoResponse))]
// Sampling
[JsonSerializable(typeof(CreateSamplingSessionRequest))]
[JsonSerializable(typeof(CreateSamplingSessionResponse))]
[JsonSerializable(typeof(SampleRequest))]
[JsonSerializable(typeof(SampleResponse))]
[JsonSerializable(typeof(SampledSequence))]
// Sessions, config, auth
[JsonSerializable(typeof(CreateSessionRequest))]
[JsonSerializable(typeof(CreateSessionResponse))]
[JsonSerializable(typeof(SessionHeartbeatRequest))]
[JsonSerializable(typeof(SessionHeartbeatResponse))]
[JsonSerializable(typeof(ClientConfigRequest))]
[JsonSerializable(typeof(ClientConfigResponse))]
[JsonSerializable(typeof(DynamicConfigResponse))]
[JsonSerializable(typeof(AuthTokenResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(GetServerCapabilitiesResponse))]
[JsonSerializable(typeof(SupportedModel))]
// Futures
[JsonSerializable(typeof(UntypedApiFuture))]
[JsonSerializable(typeof(FutureRetrieveRequest))]
[JsonSerializable(typeof(TryAgainResponse))]
[JsonSerializable(typeof(QueueState))]
[JsonSerializable(typeof(FutureMetadataResponse))]
[JsonSerializable(typeof(RequestFailedResponse))]
[JsonSerializable(typeof(RequestErrorCategory))]
// REST
[JsonSerializable(typeof(Checkpoint))]
[JsonSerializable(typeof(CheckpointType))]
[JsonSerializable(typeof(CheckpointsListResponse))]
[JsonSerializable(typeof(Cursor))]
[JsonSerializable(typeof(TrainingRun))]
[JsonSerializable(typeof(TrainingRunsResponse))]
[JsonSerializable(typeof(CheckpointArchiveUrlResponse))]
[JsonSerializable(typeof(SetCheckpointTtlRequest))]
[JsonSerializable(typeof(ListSessionsResponse))]
[JsonSerializable(typeof(GetSessionResponse))]
[JsonSerializable(typeof(GetSamplerResponse))]
// Telemetry
[JsonSerializable(typeof(TelemetrySendRequest))]
[JsonSerializable(typeof(TelemetryEvent))]
[JsonSerializable(typeof(SessionStartEvent))]
[JsonSerializable(typeof(SessionEndEvent))]
[JsonSerializable(typeof(UnhandledExceptionEvent))]
[JsonSerializable(typeof(GenericEvent))]
[JsonSerializable(typeof(TelemetrySeverity))]
[JsonSerializable(typeof(TelemetryResponse))]
// Plain shapes used on their own
[JsonSerializable(typeof(Dictionary<string, double>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, double>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, TensorData>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, TensorData>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(List<int>))]
[JsonSerializable(typeof(List<Datum>))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(DateTimeOffset))]
public partial class TinkerJsonContext : JsonSerializerContext
{
}
