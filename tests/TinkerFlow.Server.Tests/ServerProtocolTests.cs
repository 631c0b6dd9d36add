using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TinkerFlow.Local.Tests.Backend;

namespace TinkerFlow.Server.Tests;

/// <summary>The wire protocol over raw HTTP: config, auth, futures, training and sampling, replays, limits.</summary>
[Collection("Torch")]
public sealed class ServerProtocolTests : IAsyncLifetime
{
    private readonly TempHome _home = new();
    private ServerHost? _host;

    private ServerHost Host => _host!;

    public async Task InitializeAsync() => _host = await ServerHost.StartAsync(_home.Path, o => o.SeqGapGrace = TimeSpan.FromMinutes(1));

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _home.Dispose();
    }

    [Fact]
    public async Task ClientConfig_AnswersTheJsonWireFlags()
    {
        var reply = await Host.PostAsync("api/v1/client/config", """{"sdk_version":"0.18.2"}""");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("application/json", reply.MediaType);
        Assert.False(reply.Json.GetProperty("pjwt_auth_enabled").GetBoolean());
        Assert.False(reply.Json.GetProperty("use_pyqwest_transport").GetBoolean());
        Assert.False(reply.Json.GetProperty("proto_write_fwdbwd").GetBoolean());
        var dynamic = await Host.PostAsync("api/v1/client/dynamic_config", """{"sdk_version":"0.25.0"}""");
        Assert.Equal(300, dynamic.Json.GetProperty("refresh_interval_sec").GetInt32());
    }

    [Fact]
    public async Task Healthz_CapabilitiesAndTelemetry_Answer()
    {
        var health = await Host.GetAsync("api/v1/healthz", key: null);
        Assert.Equal("ok", health.Json.GetProperty("status").GetString());

        var caps = await Host.GetAsync("api/v1/get_server_capabilities");
        Assert.Contains(caps.Json.GetProperty("supported_models").EnumerateArray(), m => m.GetProperty("model_name").GetString() == ServerHost.Model);

        var telemetry = await Host.PostAsync("api/v1/telemetry", """{"events":[{"event":"SESSION_START","event_id":"x","event_session_index":0,"severity":"INFO","timestamp":"2026-01-01T00:00:00Z"}],"platform":"Linux","sdk_version":"0.18.2","session_id":"s"}""");
        Assert.Equal("accepted", telemetry.Json.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData(null, "Missing API key")]
    [InlineData("tml-not-a-known-key-999", "does not know it")]
    [InlineData("sk-wrong-prefix-12345", "tml-")]
    public async Task Requests_WithoutAValidKeyGet401WithAJsonBody(string? key, string expected)
    {
        var reply = await Host.PostAsync("api/v1/create_session", """{"sdk_version":"0.18.2"}""", key);

        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
        Assert.Equal("application/json", reply.MediaType);
        Assert.Contains(expected, reply.Error);
    }

    [Fact]
    public async Task TrainingAndSampling_RoundTripOverTheWire()
    {
        var session = await Host.CreateSessionAsync();
        var model = await Host.CreateModelAsync(session);
        Assert.Equal($"{session}:train:0", model);

        var info = await Host.PostAsync("api/v1/get_info", $$"""{"model_id":"{{model}}","type":"get_info"}""");
        Assert.Equal(ServerHost.Model, info.Json.GetProperty("model_data").GetProperty("model_name").GetString());
        Assert.Equal(4, info.Json.GetProperty("lora_rank").GetInt32());

        var fb = await Host.CallAsync("api/v1/forward_backward", ServerHost.SimpleForwardBackward(model, 1));
        var lossSum = fb.GetProperty("metrics").GetProperty("loss:sum").GetDouble();
        Assert.True(lossSum > 0);
        var logprobs = fb.GetProperty("loss_fn_outputs")[0].GetProperty("logprobs");
        Assert.Equal("float32", logprobs.GetProperty("dtype").GetString());
        Assert.Equal(4, logprobs.GetProperty("data").GetArrayLength());

        var optim = await Host.CallAsync("api/v1/optim_step", $$"""{"adam_params":{"learning_rate":0.01,"beta1":0.9,"beta2":0.95,"eps":1e-12,"weight_decay":0.0,"grad_clip_norm":0.0},"model_id":"{{model}}","seq_id":2,"type":"optim_step"}""");
        Assert.Equal(JsonValueKind.Object, optim.ValueKind);

        var after = await Host.CallAsync("api/v1/forward", ServerHost.ForwardBackward(model, 3, [1, 2, 3, 4], [2, 3, 4, 5], [0f, 1f, 1f, 1f], wrapper: "forward_input"));
        Assert.True(after.GetProperty("metrics").GetProperty("loss:sum").GetDouble() < lossSum, "one optimizer step on the same datum lowers its loss");

        var saved = await Host.CallAsync("api/v1/save_weights", $$"""{"model_id":"{{model}}","path":"step-1","seq_id":4,"overwrite":false,"type":"save_weights"}""");
        Assert.Equal($"tinker://{model}/weights/step-1", saved.GetProperty("path").GetString());

        var samplerSave = await Host.CallAsync("api/v1/save_weights_for_sampler", $$"""{"model_id":"{{model}}","path":"s-1","seq_id":5,"type":"save_weights_for_sampler"}""");
        var samplerPath = samplerSave.GetProperty("path").GetString();
        Assert.Equal($"tinker://{model}/sampler_weights/s-1", samplerPath);

        var ephemeral = await Host.CallAsync("api/v1/save_weights_for_sampler", $$"""{"model_id":"{{model}}","sampling_session_seq_id":0,"seq_id":6,"type":"save_weights_for_sampler"}""");
        Assert.Equal($"{session}:sample:0", ephemeral.GetProperty("sampling_session_id").GetString());

        var created = await Host.PostAsync("api/v1/create_sampling_session", $$"""{"session_id":"{{session}}","sampling_session_seq_id":1,"model_path":"{{samplerPath}}","type":"create_sampling_session"}""");
        var sampler = created.Json.GetProperty("sampling_session_id").GetString();
        Assert.Equal($"{session}:sample:1", sampler);

        var sample = await Host.CallAsync("api/v1/asample", $$"""{"num_samples":2,"prompt":{"chunks":[{"tokens":[1,2,3],"type":"encoded_text"}]},"sampling_params":{"max_tokens":3,"temperature":1.0,"top_k":-1,"top_p":1.0,"seed":5},"sampling_session_id":"{{sampler}}","seq_id":0,"prompt_logprobs":true,"topk_prompt_logprobs":0,"type":"sample"}""");
        Assert.Equal(2, sample.GetProperty("sequences").GetArrayLength());
        Assert.All(sample.GetProperty("sequences").EnumerateArray(), s => Assert.Equal(3, s.GetProperty("tokens").GetArrayLength()));
        Assert.Equal(JsonValueKind.Null, sample.GetProperty("prompt_logprobs")[0].ValueKind);

        var samplerInfo = await Host.GetAsync($"api/v1/samplers/{sampler}");
        Assert.Equal(ServerHost.Model, samplerInfo.Json.GetProperty("base_model").GetString());
        var bobCannotSample = await Host.CallAsync("api/v1/asample", $$"""{"prompt":{"chunks":[{"tokens":[1],"type":"encoded_text"}]},"sampling_params":{"max_tokens":1},"sampling_session_id":"{{sampler}}","type":"sample"}""", ServerHost.Bob);
        Assert.Equal("user", bobCannotSample.GetProperty("category").GetString());
    }

    [Fact]
    public async Task Replay_SameSeqIdAndBodyGetsTheSameRequestId_DifferentBodyIs409()
    {
        var model = await Host.CreateModelAsync(await Host.CreateSessionAsync());
        var body = ServerHost.SimpleForwardBackward(model, 1);

        var first = await Host.PostAsync("api/v1/forward_backward", body);
        var again = await Host.PostAsync("api/v1/forward_backward", body);
        var different = await Host.PostAsync("api/v1/forward_backward", ServerHost.ForwardBackward(model, 1, [1, 2, 3, 4], [2, 3, 4, 6], [1f, 1f, 1f, 1f]));

        var id = first.Json.GetProperty("request_id").GetString()!;
        Assert.Equal(id, again.Json.GetProperty("request_id").GetString());
        Assert.Equal(HttpStatusCode.Conflict, different.Status);
        Assert.Contains("seq_id 1", different.Error);
        var result = await Host.ResultAsync(id);
        Assert.True(result.GetProperty("metrics").GetProperty("loss:sum").GetDouble() > 0);
    }

    [Fact]
    public async Task RetrieveFuture_LongPollAnswersTryAgainUntilTheSeqGapIsFilled()
    {
        await using var host = await ServerHost.StartAsync(_home.Path + "-poll", o =>
        {
            o.LongPollTimeout = TimeSpan.FromMilliseconds(200);
            o.SeqGapGrace = TimeSpan.FromMinutes(5);
        });
        try
        {
            var model = await host.CreateModelAsync(await host.CreateSessionAsync());
            var later = await host.PostAsync("api/v1/forward_backward", ServerHost.SimpleForwardBackward(model, 2));
            var laterId = later.Json.GetProperty("request_id").GetString()!;

            var poll = await host.PostAsync("api/v1/retrieve_future", $$"""{"request_id":"{{laterId}}","allow_metadata_only":true}""");
            Assert.Equal(HttpStatusCode.OK, poll.Status);
            Assert.Equal("try_again", poll.Json.GetProperty("type").GetString());
            Assert.Equal("active", poll.Json.GetProperty("queue_state").GetString());
            Assert.Equal(laterId, poll.Json.GetProperty("request_id").GetString());

            await host.CallAsync("api/v1/forward_backward", ServerHost.SimpleForwardBackward(model, 1));
            var result = await host.ResultAsync(laterId);
            Assert.True(result.GetProperty("metrics").GetProperty("loss:sum").GetDouble() > 0);
        }
        finally
        {
            Directory.Delete(_home.Path + "-poll", recursive: true);
        }
    }

    [Fact]
    public async Task RetrieveFuture_UnknownOrForeignRequestIdIs404()
    {
        var unknown = await Host.PostAsync("api/v1/retrieve_future", """{"request_id":"req-nope"}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Contains("req-nope", unknown.Error);

        var model = await Host.CreateModelAsync(await Host.CreateSessionAsync());
        var mine = await Host.PostAsync("api/v1/forward_backward", ServerHost.SimpleForwardBackward(model, 1));
        var foreign = await Host.PostAsync("api/v1/retrieve_future", $$"""{"request_id":"{{mine.Json.GetProperty("request_id").GetString()}}"}""", ServerHost.Bob);
        Assert.Equal(HttpStatusCode.NotFound, foreign.Status);
    }

    [Fact]
    public async Task OversizeBody_Gets413WithAJsonBody()
    {
        var huge = $$"""{"sdk_version":"{{new string('x', 300 * 1024)}}"}""";

        var reply = await Host.PostAsync("api/v1/client/config", huge);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, reply.Status);
        Assert.Contains("limit", reply.Error);
        Assert.Equal(HttpStatusCode.OK, (await Host.GetAsync("api/v1/healthz")).Status);
    }

    [Fact]
    public async Task UnknownRouteAndWrongMethod_AnswerJson()
    {
        var missing = await Host.GetAsync("api/v1/no_such_thing");
        var wrongMethod = await Host.GetAsync("api/v1/create_model");

        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Contains("no_such_thing", missing.Error);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.Status);
        Assert.Contains("GET", wrongMethod.Error);
    }

    [Fact]
    public async Task Sessions_HeartbeatKeepsAliveAndIdleSessionsReleaseTheirModels()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await ServerHost.StartAsync(_home.Path + "-idle", o => o.TimeProvider = time);
        try
        {
            var live = await host.CreateSessionAsync();
            var idle = await host.CreateSessionAsync();
            var liveModel = await host.CreateModelAsync(live);
            var idleModel = await host.CreateModelAsync(idle);

            time.Advance(TimeSpan.FromSeconds(200));
            var beat = await host.PostAsync("api/v1/session_heartbeat", $$"""{"session_id":"{{live}}","type":"session_heartbeat"}""");
            Assert.Equal("session_heartbeat", beat.Json.GetProperty("type").GetString());
            time.Advance(TimeSpan.FromSeconds(200));
            host.App.Services.GetRequiredService<ServerSweeper>().SweepOnce();

            Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("api/v1/get_info", $$"""{"model_id":"{{liveModel}}"}""")).Status);
            var gone = await host.PostAsync("api/v1/get_info", $$"""{"model_id":"{{idleModel}}"}""");
            Assert.Equal(HttpStatusCode.NotFound, gone.Status);
            Assert.Contains("not loaded", gone.Error);
            var sessions = await host.GetAsync("api/v1/sessions");
            Assert.Contains(sessions.Json.GetProperty("sessions").EnumerateArray(), s => s.GetString() == idle);
            var unknownBeat = await host.PostAsync("api/v1/session_heartbeat", """{"session_id":"sess-unknown","type":"session_heartbeat"}""");
            Assert.Equal(HttpStatusCode.NotFound, unknownBeat.Status);
        }
        finally
        {
            Directory.Delete(_home.Path + "-idle", recursive: true);
        }
    }
}
