using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using TinkerFlow.Local.Tests.Backend;
using ZstdSharp;

namespace TinkerFlow.Server.Tests.Protobuf;

/// <summary>
/// Wire-protocol §8 for SDK ≥0.25: protobuf (+zstd) forward_backward requests, and protobuf forward(_backward) and
/// sample results from retrieve_future when the client accepts them — decoded back and compared with the JSON answers.
/// </summary>
[Collection("Torch")]
public sealed class ProtobufWireTests : IAsyncLifetime
{
    private const string Protobuf = "application/x-protobuf";

    private readonly TempHome _home = new();
    private ServerHost? _host;

    private ServerHost Host => _host!;

    public async Task InitializeAsync() => _host = await ServerHost.StartAsync(_home.Path);

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _home.Dispose();
    }

    [Fact]
    public async Task ForwardOnlyZstdRequest_LikeSdk025_AnswersProtobufThatMatchesTheJsonResult()
    {
        var model = await Host.CreateModelAsync(await Host.CreateSessionAsync());
        var body = ProtoTestCodec.ForwardBackwardRequest(model, 1, [([1, 2, 3, 4], [2, 3, 4, 5], [0f, 1f, 1f, 1f])], "cross_entropy", forwardOnly: true);

        var requestId = await SubmitAsync(new Compressor().Wrap(body).ToArray(), zstd: true);
        var (proto, json) = await BothAnswersAsync(requestId);

        AssertSameOutput(json, ProtoTestCodec.ReadForwardBackwardOutput(proto));

        // forward_only ran a forward: the JSON forward of the same datum gives the same logprobs, and no gradient was kept.
        var jsonForward = await Host.CallAsync("api/v1/forward", ServerHost.ForwardBackward(model, 2, [1, 2, 3, 4], [2, 3, 4, 5], [0f, 1f, 1f, 1f], wrapper: "forward_input"));
        Assert.Equal(Logprobs(json, 0), Logprobs(jsonForward, 0));
    }

    [Fact]
    public async Task ForwardBackwardRequest_TwoDatumsOfDifferentLength_RoundTripsAndReplaysDedupe()
    {
        var model = await Host.CreateModelAsync(await Host.CreateSessionAsync());
        var body = ProtoTestCodec.ForwardBackwardRequest(
            model,
            1,
            [([5, 6, 7], [6, 7, 8], [1f, 1f, 1f]), ([9, 10, 11, 12, 13], [10, 11, 12, 13, 14], [1f, 0.5f, 1f, 1f, 0f])],
            "cross_entropy",
            forwardOnly: false);

        var requestId = await SubmitAsync(body, zstd: false);
        var replayId = await SubmitAsync(new Compressor().Wrap(body).ToArray(), zstd: true);
        Assert.Equal(requestId, replayId);

        var (proto, json) = await BothAnswersAsync(requestId);
        var decoded = ProtoTestCodec.ReadForwardBackwardOutput(proto);
        AssertSameOutput(json, decoded);
        Assert.Equal([3L], decoded.Outputs[0]["logprobs"].Shape);
        Assert.Equal([5L], decoded.Outputs[1]["logprobs"].Shape);
        Assert.True(decoded.Metrics["loss:sum"] > 0);
    }

    [Fact]
    public async Task SampleResult_IsProtobufWhenAccepted()
    {
        var session = await Host.CreateSessionAsync();
        var created = await Host.PostAsync("api/v1/create_sampling_session", $$"""{"session_id":"{{session}}","sampling_session_seq_id":0,"base_model":"{{ServerHost.Model}}","type":"create_sampling_session"}""");
        var sampler = created.Json.GetProperty("sampling_session_id").GetString();
        var submitted = await Host.PostAsync("api/v1/asample", $$"""{"num_samples":2,"prompt":{"chunks":[{"tokens":[1,2,3],"type":"encoded_text"}]},"sampling_params":{"max_tokens":4,"temperature":1.0,"seed":5},"sampling_session_id":"{{sampler}}","seq_id":0,"prompt_logprobs":true,"type":"sample"}""");
        Assert.Equal(HttpStatusCode.OK, submitted.Status);

        var (proto, json) = await BothAnswersAsync(submitted.Json.GetProperty("request_id").GetString()!);
        var (sequences, prompt) = ProtoTestCodec.ReadSampleResponse(proto);

        var jsonSequences = json.GetProperty("sequences").EnumerateArray().ToList();
        Assert.Equal(jsonSequences.Count, sequences.Count);
        for (var i = 0; i < sequences.Count; i++)
        {
            Assert.Equal(jsonSequences[i].GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()), sequences[i].Tokens);
            Assert.Equal(jsonSequences[i].GetProperty("stop_reason").GetString() == "length" ? 1 : 0, sequences[i].StopReason);
            Assert.Equal(jsonSequences[i].GetProperty("logprobs").EnumerateArray().Select(v => (float)v.GetDouble()), sequences[i].Logprobs!);
        }

        var jsonPrompt = json.GetProperty("prompt_logprobs").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? float.NaN : (float)v.GetDouble());
        Assert.Equal(jsonPrompt, prompt!);
        Assert.True(float.IsNaN(prompt![0]));
    }

    private async Task<string> SubmitAsync(byte[] body, bool zstd)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/forward_backward") { Content = new ByteArrayContent(body) };
        request.Headers.Add("X-API-Key", ServerHost.Alice);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(Protobuf);
        if (zstd)
        {
            request.Content.Headers.ContentEncoding.Add("zstd");
        }

        using var response = await Host.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"forward_backward: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("request_id").GetString()!;
    }

    /// <summary>The same result fetched as protobuf (Accept exactly application/x-protobuf, as SDK 0.25) and as JSON.</summary>
    private async Task<(byte[] Proto, JsonElement Json)> BothAnswersAsync(string requestId)
    {
        var json = await Host.ResultAsync(requestId);
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/retrieve_future")
        {
            Content = new StringContent($$"""{"request_id":"{{requestId}}","allow_metadata_only":false}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-API-Key", ServerHost.Alice);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(Protobuf));
        using var response = await Host.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Protobuf, response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadAsByteArrayAsync(), json);
    }

    private static void AssertSameOutput(JsonElement json, (List<Dictionary<string, (double[] Values, long[] Shape)>> Outputs, Dictionary<string, double> Metrics, string Type) proto)
    {
        Assert.Equal(json.GetProperty("loss_fn_output_type").GetString(), proto.Type);
        var outputs = json.GetProperty("loss_fn_outputs").EnumerateArray().ToList();
        Assert.Equal(outputs.Count, proto.Outputs.Count);
        for (var i = 0; i < outputs.Count; i++)
        {
            var names = outputs[i].EnumerateObject().Select(p => p.Name).Order().ToList();
            Assert.Equal(names, proto.Outputs[i].Keys.Order());
            foreach (var name in names)
            {
                var expected = outputs[i].GetProperty(name).GetProperty("data").EnumerateArray().Select(v => (double)(float)v.GetDouble());
                Assert.Equal(expected, proto.Outputs[i][name].Values);
            }
        }

        var metrics = json.GetProperty("metrics").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.Equal(metrics.OrderBy(kv => kv.Key), proto.Metrics.OrderBy(kv => kv.Key));
    }

    private static float[] Logprobs(JsonElement output, int datum) =>
        [.. output.GetProperty("loss_fn_outputs")[datum].GetProperty("logprobs").GetProperty("data").EnumerateArray().Select(v => (float)v.GetDouble())];
}
