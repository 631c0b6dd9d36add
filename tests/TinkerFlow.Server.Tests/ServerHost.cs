using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace TinkerFlow.Server.Tests;

/// <summary>An in-process server on a Kestrel loopback port, driven with raw HTTP and wire JSON.</summary>
internal sealed class ServerHost : IAsyncDisposable
{
    public const string Alice = "tml-alice-test-key-0001";
    public const string Bob = "tml-bob-test-key-0002";
    public const string Model = "tinkerflow/tiny-qwen3";

    private ServerHost(WebApplication app, string home)
    {
        App = app;
        Home = home;
        BaseUrl = new Uri(app.Urls.First().TrimEnd('/') + "/");
        Http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(100) };
    }

    public WebApplication App { get; }

    public string Home { get; }

    public Uri BaseUrl { get; }

    public HttpClient Http { get; }

    public ServerState State => App.Services.GetRequiredService<ServerState>();

    public static async Task<ServerHost> StartAsync(string home, Action<ServerOptions>? configure = null)
    {
        var app = TinkerFlowServer.Build(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", "--home", home],
            o =>
            {
                o.ApiKeys = [Alice, Bob];
                o.PreloadModels = false;
                o.LongPollTimeout = TimeSpan.FromSeconds(20);
                o.MaxRequestBodyBytes = 256 * 1024;
                configure?.Invoke(o);
            });
        await app.StartAsync();
        return new ServerHost(app, home);
    }

    public Task<Reply> PostAsync(string path, string? json, string? key = Alice, string contentType = "application/json") =>
        SendAsync(HttpMethod.Post, path, json, key, contentType);

    public Task<Reply> GetAsync(string path, string? key = Alice) => SendAsync(HttpMethod.Get, path, null, key);

    public async Task<Reply> SendAsync(HttpMethod method, string path, string? json, string? key = Alice, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (key is not null)
        {
            request.Headers.Add("X-API-Key", key);
        }

        if (json is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        using var response = await Http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return new Reply(response.StatusCode, bytes, response.Content.Headers.ContentType?.MediaType, response.Headers.Location, response.Content.Headers.Expires);
    }

    /// <summary>Polls retrieve_future until the answer is not try_again.</summary>
    public async Task<JsonElement> ResultAsync(string requestId, string key = Alice)
    {
        for (var poll = 0; poll < 50; poll++)
        {
            var reply = await PostAsync("api/v1/retrieve_future", $$"""{"request_id":"{{requestId}}","allow_metadata_only":false}""", key);
            Assert.True(reply.Status == HttpStatusCode.OK, $"retrieve_future: {(int)reply.Status} {reply.Text}");
            var json = reply.Json;
            if (!(json.TryGetProperty("type", out var type) && type.GetString() == "try_again"))
            {
                return json;
            }
        }

        throw new TimeoutException($"request {requestId} never completed");
    }

    /// <summary>Submits a queued request and waits for its result.</summary>
    public async Task<JsonElement> CallAsync(string path, string json, string key = Alice)
    {
        var reply = await PostAsync(path, json, key);
        Assert.True(reply.Status == HttpStatusCode.OK, $"{path}: {(int)reply.Status} {reply.Text}");
        return await ResultAsync(reply.Json.GetProperty("request_id").GetString()!, key);
    }

    public async Task<string> CreateSessionAsync(string key = Alice)
    {
        var reply = await PostAsync("api/v1/create_session", """{"tags":[],"user_metadata":{},"sdk_version":"0.18.2","type":"create_session"}""", key);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json.GetProperty("session_id").GetString()!;
    }

    public async Task<string> CreateModelAsync(string session, int modelSeq = 0, string key = Alice, int rank = 4)
    {
        var result = await CallAsync(
            "api/v1/create_model",
            $$"""{"session_id":"{{session}}","model_seq_id":{{modelSeq}},"base_model":"{{Model}}","lora_config":{"rank":{{rank}},"seed":7,"train_unembed":true,"train_mlp":true,"train_attn":true},"type":"create_model"}""",
            key);
        return result.GetProperty("model_id").GetString()!;
    }

    /// <summary>A forward_backward body with one cross-entropy datum.</summary>
    public static string ForwardBackward(string modelId, int? seqId, int[] input, int[] targets, float[] weights, string lossFn = "cross_entropy", string wrapper = "forward_backward_input")
    {
        var w = string.Join(",", weights.Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var datum =
            "{\"loss_fn_inputs\":{\"target_tokens\":{\"data\":[" + string.Join(",", targets) + "],\"dtype\":\"int64\",\"shape\":[" + targets.Length + "]}," +
            "\"weights\":{\"data\":[" + w + "],\"dtype\":\"float32\",\"shape\":[" + weights.Length + "]}}," +
            "\"model_input\":{\"chunks\":[{\"tokens\":[" + string.Join(",", input) + "],\"type\":\"encoded_text\"}]}}";
        var seq = seqId is { } s ? ",\"seq_id\":" + s : "";
        return "{\"" + wrapper + "\":{\"data\":[" + datum + "],\"loss_fn\":\"" + lossFn + "\"},\"model_id\":\"" + modelId + "\"" + seq + "}";
    }

    public static string SimpleForwardBackward(string modelId, int? seqId) =>
        ForwardBackward(modelId, seqId, [1, 2, 3, 4], [2, 3, 4, 5], [0f, 1f, 1f, 1f]);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>One HTTP answer.</summary>
internal sealed record Reply(HttpStatusCode Status, byte[] Body, string? MediaType, Uri? Location, DateTimeOffset? Expires)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();

    /// <summary>The <c>error</c> message of a JSON error body.</summary>
    public string Error => Json.GetProperty("error").GetString()!;
}
