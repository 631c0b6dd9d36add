using System.Net;
using System.Text.Json;
using TinkerFlow.Local.Tests.Backend;

namespace TinkerFlow.Server.Tests;

/// <summary>A server with one session, model and sampler, shared by the bad-input cases.</summary>
public sealed class BadInputFixture : IAsyncLifetime
{
    private readonly TempHome _home = new();

    internal ServerHost Host { get; private set; } = null!;

    public string Session { get; private set; } = "";

    public string Model { get; private set; } = "";

    public string Sampler { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Host = await ServerHost.StartAsync(_home.Path);
        Session = await Host.CreateSessionAsync();
        Model = await Host.CreateModelAsync(Session);
        var sampler = await Host.PostAsync("api/v1/create_sampling_session", $$"""{"session_id":"{{Session}}","sampling_session_seq_id":1,"base_model":"{{ServerHost.Model}}","type":"create_sampling_session"}""");
        Assert.True(sampler.Status == HttpStatusCode.OK, sampler.Text);
        Sampler = sampler.Json.GetProperty("sampling_session_id").GetString()!;
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        _home.Dispose();
    }
}

/// <summary>Every kind of bad request gets a 4xx (or a future failing with category "user") whose message names the problem.</summary>
[Collection("Torch")]
public sealed class BadInputTests(BadInputFixture fixture) : IClassFixture<BadInputFixture>
{
    private const string Datum = """{"loss_fn_inputs":{"target_tokens":{"data":[2,3,4,5],"dtype":"int64","shape":[4]},"weights":{"data":[1.0,1.0,1.0,1.0],"dtype":"float32","shape":[4]}},"model_input":{"chunks":[{"tokens":[1,2,3,4],"type":"encoded_text"}]}}""";
    private const string Prompt = """{"chunks":[{"tokens":[1,2,3],"type":"encoded_text"}]}""";

    public static TheoryData<string, string, string, string?, string> Cases => new()
    {
        { "malformed JSON", "POST", "create_session", """{"sdk_version": """, "Invalid create_session request" },
        { "empty body", "POST", "create_model", "", "empty" },
        { "array instead of object", "POST", "create_session", "[1,2]", "could not be converted" },
        { "wrong type", "POST", "forward_backward", """{"forward_backward_input":{"data":[{datum}],"loss_fn":"cross_entropy"},"model_id":"{model}","seq_id":"one"}""", "seq_id" },
        { "missing field", "POST", "create_model", """{"session_id":"{session}","model_seq_id":3,"type":"create_model"}""", "base_model" },
        { "missing request_id", "POST", "retrieve_future", """{"allow_metadata_only":true}""", "request_id" },
        { "unknown loss", "POST", "forward_backward", """{"forward_backward_input":{"data":[{datum}],"loss_fn":"nope_loss"},"model_id":"{model}"}""", "nope_loss" },
        { "unknown config key", "POST", "forward_backward", """{"forward_backward_input":{"data":[{datum}],"loss_fn":"ppo","loss_fn_config":{"clip_eps":0.2}},"model_id":"{model}"}""", "clip_eps" },
        { "empty batch", "POST", "forward_backward", """{"forward_backward_input":{"data":[],"loss_fn":"cross_entropy"},"model_id":"{model}"}""", "empty" },
        { "input token outside vocab", "POST", "forward_backward", """{"forward_backward_input":{"data":[{"loss_fn_inputs":{"target_tokens":{"data":[2,3],"dtype":"int64","shape":[2]},"weights":{"data":[1.0,1.0],"dtype":"float32","shape":[2]}},"model_input":{"chunks":[{"tokens":[1,999999],"type":"encoded_text"}]}}],"loss_fn":"cross_entropy"},"model_id":"{model}"}""", "999999" },
        { "target token outside vocab", "POST", "forward", """{"forward_input":{"data":[{"loss_fn_inputs":{"target_tokens":{"data":[2,-7],"dtype":"int64","shape":[2]},"weights":{"data":[1.0,1.0],"dtype":"float32","shape":[2]}},"model_input":{"chunks":[{"tokens":[1,2],"type":"encoded_text"}]}}],"loss_fn":"cross_entropy"},"model_id":"{model}"}""", "target_tokens" },
        { "mismatched lengths", "POST", "forward_backward", """{"forward_backward_input":{"data":[{"loss_fn_inputs":{"target_tokens":{"data":[2,3],"dtype":"int64","shape":[2]},"weights":{"data":[1.0,1.0],"dtype":"float32","shape":[2]}},"model_input":{"chunks":[{"tokens":[1,2,3],"type":"encoded_text"}]}}],"loss_fn":"cross_entropy"},"model_id":"{model}"}""", "target_tokens" },
        { "shape disagrees with data", "POST", "forward_backward", """{"forward_backward_input":{"data":[{"loss_fn_inputs":{"target_tokens":{"data":[2,3],"dtype":"int64","shape":[3]},"weights":{"data":[1.0,1.0],"dtype":"float32","shape":[2]}},"model_input":{"chunks":[{"tokens":[1,2],"type":"encoded_text"}]}}],"loss_fn":"cross_entropy"},"model_id":"{model}"}""", "shape" },
        { "NaN literal", "POST", "forward_backward", """{"forward_backward_input":{"data":[{"loss_fn_inputs":{"target_tokens":{"data":[2,3],"dtype":"int64","shape":[2]},"weights":{"data":[NaN,1.0],"dtype":"float32","shape":[2]}},"model_input":{"chunks":[{"tokens":[1,2],"type":"encoded_text"}]}}],"loss_fn":"cross_entropy"},"model_id":"{model}"}""", "Invalid forward_backward request" },
        { "infinite weight", "POST", "forward_backward", """{"forward_backward_input":{"data":[{"loss_fn_inputs":{"target_tokens":{"data":[2,3],"dtype":"int64","shape":[2]},"weights":{"data":[1e999,1.0],"dtype":"float32","shape":[2]}},"model_input":{"chunks":[{"tokens":[1,2],"type":"encoded_text"}]}}],"loss_fn":"cross_entropy"},"model_id":"{model}"}""", "weights" },
        { "missing required loss input", "POST", "forward_backward", """{"forward_backward_input":{"data":[{datum}],"loss_fn":"importance_sampling"},"model_id":"{model}"}""", "advantages" },
        { "image chunk on a text model", "POST", "forward", """{"forward_input":{"data":[{"loss_fn_inputs":{"target_tokens":{"data":[2],"dtype":"int64","shape":[1]},"weights":{"data":[1.0],"dtype":"float32","shape":[1]}},"model_input":{"chunks":[{"data":"iVBORw==","format":"png","expected_tokens":1,"type":"image"}]}}],"loss_fn":"cross_entropy"},"model_id":"{model}"}""", "image" },
        { "unknown chunk type", "POST", "forward", """{"forward_input":{"data":[{"loss_fn_inputs":{},"model_input":{"chunks":[{"tokens":[1],"type":"video"}]}}],"loss_fn":"cross_entropy"},"model_id":"{model}"}""", "video" },
        { "unknown model id", "POST", "forward_backward", """{"forward_backward_input":{"data":[{datum}],"loss_fn":"cross_entropy"},"model_id":"sess-nobody:train:9"}""", "sess-nobody:train:9" },
        { "negative learning rate", "POST", "optim_step", """{"adam_params":{"learning_rate":-1.0},"model_id":"{model}","type":"optim_step"}""", "learning_rate" },
        { "unknown session", "POST", "create_model", """{"session_id":"sess-missing","model_seq_id":0,"base_model":"tinkerflow/tiny-qwen3","type":"create_model"}""", "sess-missing" },
        { "unknown base model", "POST", "create_model", """{"session_id":"{session}","model_seq_id":5,"base_model":"nobody/nothing","type":"create_model"}""", "tinkerflow/tiny-qwen3" },
        { "zero LoRA rank", "POST", "create_model", """{"session_id":"{session}","model_seq_id":6,"base_model":"tinkerflow/tiny-qwen3","lora_config":{"rank":0},"type":"create_model"}""", "rank" },
        { "checkpoint name with traversal", "POST", "save_weights", """{"model_id":"{model}","path":"../escape","type":"save_weights"}""", "save_weights.path" },
        { "load path not tinker://", "POST", "load_weights", """{"model_id":"{model}","path":"/etc/passwd","optimizer":false,"type":"load_weights"}""", "tinker://" },
        { "load path with traversal", "POST", "load_weights", """{"model_id":"{model}","path":"tinker://{model}/weights/..","optimizer":false,"type":"load_weights"}""", ".." },
        { "load path with wrong kind", "POST", "weights_info", """{"tinker_path":"tinker://run/optimizer/x"}""", "optimizer" },
        { "num_samples absurd", "POST", "asample", """{"num_samples":100000,"prompt":{prompt},"sampling_params":{"max_tokens":2},"sampling_session_id":"{sampler}","type":"sample"}""", "num_samples" },
        { "num_samples zero", "POST", "asample", """{"num_samples":0,"prompt":{prompt},"sampling_params":{"max_tokens":2},"sampling_session_id":"{sampler}","type":"sample"}""", "num_samples" },
        { "max_tokens absurd", "POST", "asample", """{"prompt":{prompt},"sampling_params":{"max_tokens":1000000000},"sampling_session_id":"{sampler}","type":"sample"}""", "max_tokens" },
        { "max_tokens zero", "POST", "asample", """{"prompt":{prompt},"sampling_params":{"max_tokens":0},"sampling_session_id":"{sampler}","type":"sample"}""", "max_tokens" },
        { "negative temperature", "POST", "asample", """{"prompt":{prompt},"sampling_params":{"max_tokens":2,"temperature":-0.5},"sampling_session_id":"{sampler}","type":"sample"}""", "temperature" },
        { "top_p above one", "POST", "asample", """{"prompt":{prompt},"sampling_params":{"max_tokens":2,"top_p":2.0},"sampling_session_id":"{sampler}","type":"sample"}""", "top_p" },
        { "empty prompt", "POST", "asample", """{"prompt":{"chunks":[]},"sampling_params":{"max_tokens":2},"sampling_session_id":"{sampler}","type":"sample"}""", "prompt" },
        { "prompt token outside vocab", "POST", "asample", """{"prompt":{"chunks":[{"tokens":[5,123456789],"type":"encoded_text"}]},"sampling_params":{"max_tokens":2},"sampling_session_id":"{sampler}","type":"sample"}""", "123456789" },
        { "unknown sampler", "POST", "asample", """{"prompt":{prompt},"sampling_params":{"max_tokens":2},"sampling_session_id":"sess-x:sample:4","type":"sample"}""", "sess-x:sample:4" },
        { "ttl not positive", "PUT", "training_runs/{model}/checkpoints/weights/none/ttl", """{"ttl_seconds":0}""", "ttl_seconds" },
        { "unknown checkpoint kind", "DELETE", "training_runs/{model}/checkpoints/bogus/c1", null, "bogus" },
        { "unknown checkpoint", "DELETE", "training_runs/{model}/checkpoints/weights/never-saved", null, "never-saved" },
        { "bad page size", "GET", "training_runs?limit=0", null, "limit" },
        { "non-integer offset", "GET", "checkpoints?offset=abc", null, "offset" },
        { "bad access scope", "GET", "training_runs?access_scope=everyone", null, "access_scope" },
        { "unknown session lookup", "GET", "sessions/sess-none", null, "sess-none" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadInput_GetsAUserErrorThatNamesTheProblem(string name, string method, string path, string? body, string expected)
    {
        var host = fixture.Host;
        body = Fill(body);
        var reply = await host.SendAsync(new HttpMethod(method), "api/v1/" + Fill(path), body);

        string message;
        if (reply.Status == HttpStatusCode.OK && reply.Json.TryGetProperty("request_id", out var requestId))
        {
            var result = await host.ResultAsync(requestId.GetString()!);
            Assert.True(result.TryGetProperty("error", out var error), $"{name}: expected the future to fail, got {result}");
            Assert.Equal("user", result.GetProperty("category").GetString());
            message = error.GetString()!;
        }
        else
        {
            Assert.True((int)reply.Status is >= 400 and < 500, $"{name}: expected a 4xx, got {(int)reply.Status} {reply.Text}");
            Assert.Equal("application/json", reply.MediaType);
            Assert.Equal("user", reply.Json.GetProperty("category").GetString());
            message = reply.Error;
        }

        Assert.True(message.Contains(expected, StringComparison.OrdinalIgnoreCase), $"{name}: message '{message}' does not mention '{expected}'");
    }

    [Fact]
    public async Task BadInput_LeavesTheServerAndModelWorking()
    {
        var host = fixture.Host;
        await host.PostAsync("api/v1/forward_backward", """{"forward_backward_input":""");
        var fine = await host.CallAsync("api/v1/forward", ServerHost.ForwardBackward(fixture.Model, null, [1, 2, 3, 4], [2, 3, 4, 5], [1f, 1f, 1f, 1f], wrapper: "forward_input"));
        Assert.True(fine.GetProperty("metrics").GetProperty("loss:sum").GetDouble() > 0);
    }

    [Fact]
    public async Task ProtobufBody_MalformedIsA400AndJsonOnlyEndpointsRefuseItWith415()
    {
        // forward_backward decodes protobuf (SDK ≥0.25): field 1 (model_id) sent as a varint names the field.
        var malformed = await fixture.Host.PostAsync("api/v1/forward_backward", "\u0008\u0001", contentType: "application/x-protobuf");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.Status);
        Assert.Contains("model_id", malformed.Error);

        var reply = await fixture.Host.PostAsync("api/v1/optim_step", "\u0008\u0001", contentType: "application/x-protobuf");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, reply.Status);
        Assert.Contains("JSON only", reply.Error);
    }

    private string? Fill(string? text) =>
        text?.Replace("{model}", fixture.Model, StringComparison.Ordinal)
            .Replace("{session}", fixture.Session, StringComparison.Ordinal)
            .Replace("{sampler}", fixture.Sampler, StringComparison.Ordinal)
            .Replace("{datum}", Datum, StringComparison.Ordinal)
            .Replace("{prompt}", Prompt, StringComparison.Ordinal);
}
