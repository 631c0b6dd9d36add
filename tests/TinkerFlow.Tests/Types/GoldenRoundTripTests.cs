using TinkerFlow.Types;

namespace TinkerFlow.Tests.Types;

/// <summary>Every JSON shape of wire-protocol.md §2–§7 (Golden/*.json) parses into its type and is written back
/// semantically identical (key order and number spelling aside).</summary>
public class GoldenRoundTripTests
{
    private static readonly Dictionary<string, Func<string, string>> RoundTrips = new()
    {
        ["create_session_request.json"] = RoundTrip<CreateSessionRequest>,
        ["create_session_request_project.json"] = RoundTrip<CreateSessionRequest>,
        ["create_session_response.json"] = RoundTrip<CreateSessionResponse>,
        ["session_heartbeat_request.json"] = RoundTrip<SessionHeartbeatRequest>,
        ["session_heartbeat_response.json"] = RoundTrip<SessionHeartbeatResponse>,
        ["client_config_request.json"] = RoundTrip<ClientConfigRequest>,
        ["client_config_response.json"] = RoundTrip<ClientConfigResponse>,
        ["dynamic_config_response.json"] = RoundTrip<DynamicConfigResponse>,
        ["auth_token_response.json"] = RoundTrip<AuthTokenResponse>,
        ["health_response.json"] = RoundTrip<HealthResponse>,
        ["get_server_capabilities_response.json"] = RoundTrip<GetServerCapabilitiesResponse>,
        ["create_model_request.json"] = RoundTrip<CreateModelRequest>,
        ["create_model_request_metadata.json"] = RoundTrip<CreateModelRequest>,
        ["create_model_response.json"] = RoundTrip<CreateModelResponse>,
        ["get_info_request.json"] = RoundTrip<GetInfoRequest>,
        ["get_info_response.json"] = RoundTrip<GetInfoResponse>,
        ["unload_model_request.json"] = RoundTrip<UnloadModelRequest>,
        ["unload_model_response.json"] = RoundTrip<UnloadModelResponse>,
        ["forward_backward_request.json"] = RoundTrip<ForwardBackwardRequest>,
        ["forward_backward_request_ppo.json"] = RoundTrip<ForwardBackwardRequest>,
        ["forward_request.json"] = RoundTrip<ForwardRequest>,
        ["forward_backward_output.json"] = RoundTrip<ForwardBackwardOutput>,
        ["optim_step_request.json"] = RoundTrip<OptimStepRequest>,
        ["optim_step_response.json"] = RoundTrip<OptimStepResponse>,
        ["save_weights_request.json"] = RoundTrip<SaveWeightsRequest>,
        ["save_weights_request_ttl.json"] = RoundTrip<SaveWeightsRequest>,
        ["save_weights_response.json"] = RoundTrip<SaveWeightsResponse>,
        ["save_weights_for_sampler_request_named.json"] = RoundTrip<SaveWeightsForSamplerRequest>,
        ["save_weights_for_sampler_request_ephemeral.json"] = RoundTrip<SaveWeightsForSamplerRequest>,
        ["save_weights_for_sampler_response_named.json"] = RoundTrip<SaveWeightsForSamplerResponse>,
        ["save_weights_for_sampler_response_ephemeral.json"] = RoundTrip<SaveWeightsForSamplerResponse>,
        ["load_weights_request_legacy.json"] = RoundTrip<LoadWeightsRequest>,
        ["load_weights_request_create.json"] = RoundTrip<LoadWeightsRequest>,
        ["load_weights_response.json"] = RoundTrip<LoadWeightsResponse>,
        ["weights_info_request.json"] = RoundTrip<WeightsInfoRequest>,
        ["weights_info_response.json"] = RoundTrip<WeightsInfoResponse>,
        ["create_sampling_session_request.json"] = RoundTrip<CreateSamplingSessionRequest>,
        ["create_sampling_session_request_path.json"] = RoundTrip<CreateSamplingSessionRequest>,
        ["create_sampling_session_response.json"] = RoundTrip<CreateSamplingSessionResponse>,
        ["sample_request.json"] = RoundTrip<SampleRequest>,
        ["sample_request_token_stop.json"] = RoundTrip<SampleRequest>,
        ["sample_request_string_stop.json"] = RoundTrip<SampleRequest>,
        ["sample_response.json"] = RoundTrip<SampleResponse>,
        ["sample_response_stop.json"] = RoundTrip<SampleResponse>,
        ["untyped_api_future.json"] = RoundTrip<UntypedApiFuture>,
        ["future_retrieve_request.json"] = RoundTrip<FutureRetrieveRequest>,
        ["try_again.json"] = RoundTrip<TryAgainResponse>,
        ["try_again_active.json"] = RoundTrip<TryAgainResponse>,
        ["complete_metadata.json"] = RoundTrip<FutureMetadataResponse>,
        ["request_failed.json"] = RoundTrip<RequestFailedResponse>,
        ["checkpoint.json"] = RoundTrip<Checkpoint>,
        ["checkpoint_with_training_run_id.json"] = RoundTrip<Checkpoint>,
        ["checkpoints_list_response.json"] = RoundTrip<CheckpointsListResponse>,
        ["training_run.json"] = RoundTrip<TrainingRun>,
        ["training_runs_response.json"] = RoundTrip<TrainingRunsResponse>,
        ["checkpoint_archive_url_response.json"] = RoundTrip<CheckpointArchiveUrlResponse>,
        ["checkpoint_archive_url_response_no_expires.json"] = RoundTrip<CheckpointArchiveUrlResponse>,
        ["set_checkpoint_ttl_request.json"] = RoundTrip<SetCheckpointTtlRequest>,
        ["set_checkpoint_ttl_request_null.json"] = RoundTrip<SetCheckpointTtlRequest>,
        ["list_sessions_response.json"] = RoundTrip<ListSessionsResponse>,
        ["get_session_response.json"] = RoundTrip<GetSessionResponse>,
        ["get_sampler_response.json"] = RoundTrip<GetSamplerResponse>,
        ["telemetry_send_request.json"] = RoundTrip<TelemetrySendRequest>,
        ["telemetry_response.json"] = RoundTrip<TelemetryResponse>,
        ["model_input_chunks.json"] = RoundTrip<ModelInput>,
        ["tensor_data_sparse.json"] = RoundTrip<TensorData>,
        ["tensor_data_int64.json"] = RoundTrip<TensorData>,
    };

    public static TheoryData<string> GoldenFiles => new(RoundTrips.Keys.Order());

    internal static string ReadGolden(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", name));

    [Theory]
    [MemberData(nameof(GoldenFiles))]
    public void Golden_RoundTripsSemantically(string file)
    {
        var golden = ReadGolden(file);
        var written = RoundTrips[file](golden);
        JsonAssert.Equal(golden, written);
    }

    [Fact]
    public void Golden_EveryFileHasARoundTrip()
    {
        var onDisk = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Golden"), "*.json").Select(Path.GetFileName).ToHashSet();
        Assert.Empty(onDisk.Except(RoundTrips.Keys));
        Assert.Empty(RoundTrips.Keys.Except(onDisk!));
    }

    [Fact]
    public void Golden_ForwardBackwardRequestValues()
    {
        var request = TinkerJson.Deserialize<ForwardBackwardRequest>(ReadGolden("forward_backward_request_ppo.json"));
        Assert.Equal("sess-fe4d1c31:train:0", request.ModelId);
        Assert.Equal(2, request.SeqId);
        Assert.Equal(LossFnType.Ppo, request.ForwardBackwardInput.LossFn);
        Assert.Equal(0.9, request.ForwardBackwardInput.LossFnConfig!["clip_low_threshold"]);
        var datum = Assert.Single(request.ForwardBackwardInput.Data);
        Assert.Equal([1, 2, 3, 4], datum.ModelInput.ToInts());
        Assert.Equal([2L, 3, 4, 5], datum.LossFnInputs["target_tokens"].ToInt64Array());
        Assert.Equal(-0.6f, datum.LossFnInputs["logprobs"].ToFloat32Array()[0]);
        Assert.Equal(TensorDType.Float32, datum.LossFnInputs["advantages"].Dtype);
    }

    [Fact]
    public void Golden_SampleResponseValues()
    {
        var response = TinkerJson.Deserialize<SampleResponse>(ReadGolden("sample_response.json"));
        var sequence = Assert.Single(response.Sequences);
        Assert.Equal(StopReason.Length, sequence.StopReason);
        Assert.Equal([100, 101, 102], sequence.Tokens);
        Assert.Equal([null, -1.0, -1.01], response.PromptLogprobs!);
        Assert.Null(response.TopkPromptLogprobs![0]);
        Assert.Equal([new TopkPromptLogprob(5, -0.1), new TopkPromptLogprob(9, -2.3)], response.TopkPromptLogprobs[1]!);
    }

    [Fact]
    public void Golden_SampleRequestStopForms()
    {
        var strings = TinkerJson.Deserialize<SampleRequest>(ReadGolden("sample_request.json"));
        Assert.Equal(["\n"], strings.SamplingParams.Stop!.Strings!);
        Assert.False(strings.SamplingParams.Stop.IsSingleString);
        Assert.Equal(0.7, strings.SamplingParams.Temperature);

        var tokens = TinkerJson.Deserialize<SampleRequest>(ReadGolden("sample_request_token_stop.json"));
        Assert.Equal([151643, 151645], tokens.SamplingParams.Stop!.TokenIds!);
        Assert.Equal(42, tokens.SamplingParams.Seed);

        var single = TinkerJson.Deserialize<SampleRequest>(ReadGolden("sample_request_string_stop.json"));
        Assert.True(single.SamplingParams.Stop!.IsSingleString);
        Assert.Equal(1_000_000_007L, single.SeqId);
        Assert.Null(single.SamplingParams.MaxTokens);
    }

    [Fact]
    public void Golden_TelemetryEventsKeepTheirKinds()
    {
        var request = TinkerJson.Deserialize<TelemetrySendRequest>(ReadGolden("telemetry_send_request.json"));
        Assert.IsType<SessionStartEvent>(request.Events[0]);
        var generic = Assert.IsType<GenericEvent>(request.Events[1]);
        Assert.Equal(8, generic.EventData["rank"].GetInt32());
        var exception = Assert.IsType<UnhandledExceptionEvent>(request.Events[2]);
        Assert.Equal("ValueError", exception.ErrorType);
        var end = Assert.IsType<SessionEndEvent>(request.Events[3]);
        Assert.Equal("PT3S", end.Duration);
        Assert.Equal(TelemetrySeverity.Critical, end.Severity);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, 500, TimeSpan.Zero), request.Events[0].Timestamp);
    }

    [Fact]
    public void Golden_CheckpointValues()
    {
        var list = TinkerJson.Deserialize<CheckpointsListResponse>(ReadGolden("checkpoints_list_response.json"));
        Assert.Equal(CheckpointType.Sampler, list.Checkpoints[0].CheckpointType);
        Assert.True(list.Checkpoints[0].Public);
        Assert.Null(list.Checkpoints[0].SizeBytes);
        Assert.Equal(2, list.Cursor!.TotalCount);
        var run = TinkerJson.Deserialize<TrainingRunsResponse>(ReadGolden("training_runs_response.json")).TrainingRuns[0];
        Assert.Equal(TimeSpan.FromHours(2), run.LastRequestTime.Offset);
        Assert.True(run.Corrupted);
    }

    private static string RoundTrip<T>(string json) => TinkerJson.Serialize(TinkerJson.Deserialize<T>(json));
}
