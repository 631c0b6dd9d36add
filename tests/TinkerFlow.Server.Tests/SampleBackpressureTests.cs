using System.Net;
using System.Text;
using System.Text.Json;
using TinkerFlow.Local.Tests.Backend;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Tests;

/// <summary>
/// Sampling back-pressure over the wire (wire-protocol §5, §10.4, §12 item 8): a sample request that would wait beyond
/// <see cref="ServerOptions.MaxWaitingSamples"/> gets 429 with <c>Retry-After</c>, leaves no trace, and clients resend it.
/// </summary>
[Collection("Torch")]
public sealed class SampleBackpressureTests : IAsyncLifetime
{
    private readonly TempHome _home = new();
    private ServerHost? _host;

    private ServerHost Host => _host!;

    public async Task InitializeAsync() => _host = await ServerHost.StartAsync(_home.Path, o =>
    {
        o.MaxConcurrentSamples = 2;
        o.MaxWaitingSamples = 2;
        o.LongPollTimeout = TimeSpan.FromMilliseconds(200);
    });

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _home.Dispose();
    }

    [Fact]
    public async Task SampleBeyondTheWaitingQueue_Gets429WithRetryAfter_AndTheSameRequestIsAcceptedLater()
    {
        var sampler = await CreateSamplerAsync();
        var batcher = Host.State.Engine.BatcherFor(Host.State.Engine.Models.Get(ServerHost.Model));

        // A long request fills the batch's two rows; a second one waits (the queue was empty, so it is accepted).
        var running = await Host.PostAsync("api/v1/asample", Body(sampler, seq: 0, numSamples: 2, maxTokens: 300));
        Assert.Equal(HttpStatusCode.OK, running.Status);
        while (batcher.LastStepRows < 2 || batcher.WaitingRows > 0)
        {
            await Task.Delay(2);
        }

        var waiting = await Host.PostAsync("api/v1/asample", Body(sampler, seq: 1, numSamples: 2, maxTokens: 4));
        Assert.Equal(HttpStatusCode.OK, waiting.Status);

        // Two samples already wait; one more would wait beyond the limit: back-pressure.
        var refusedBody = Body(sampler, seq: 2, numSamples: 1, maxTokens: 4);
        using (var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/asample") { Content = new StringContent(refusedBody, Encoding.UTF8, "application/json") })
        {
            request.Headers.Add("X-API-Key", ServerHost.Alice);
            request.Headers.Add("X-Tinker-Sampling-Backpressure", "1");
            using var response = await Host.Http.SendAsync(request);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            var retryAfter = response.Headers.RetryAfter?.Delta;
            Assert.True(retryAfter > TimeSpan.Zero && retryAfter <= TimeSpan.FromSeconds(60), $"Retry-After {retryAfter} must lie in (0, 60] s for the SDK to honour it");
            Assert.Equal("user", error.GetProperty("category").GetString());
            Assert.Contains("--max-waiting-samples", error.GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        // The refused submission left no trace: the same (sampling_session_id, seq_id) is accepted once there is room.
        await Host.ResultAsync(running.Json.GetProperty("request_id").GetString()!);
        await Host.ResultAsync(waiting.Json.GetProperty("request_id").GetString()!);
        var resent = await Host.PostAsync("api/v1/asample", refusedBody);
        Assert.Equal(HttpStatusCode.OK, resent.Status);
        var result = await Host.ResultAsync(resent.Json.GetProperty("request_id").GetString()!);
        Assert.Equal(4, result.GetProperty("sequences")[0].GetProperty("tokens").GetArrayLength());
    }

    [Fact]
    public async Task RetrieveFuture_OfASampleWaitingForRoom_IsPausedCapacityWithAReason_AndTheRunningOneIsActive()
    {
        var sampler = await CreateSamplerAsync();
        var batcher = Host.State.Engine.BatcherFor(Host.State.Engine.Models.Get(ServerHost.Model));
        var running = await Host.PostAsync("api/v1/asample", Body(sampler, seq: 0, numSamples: 2, maxTokens: 400));
        while (batcher.LastStepRows < 2 || batcher.WaitingRows > 0)
        {
            await Task.Delay(2);
        }

        var waiting = await Host.PostAsync("api/v1/asample", Body(sampler, seq: 1, numSamples: 1, maxTokens: 4));
        var waitingId = waiting.Json.GetProperty("request_id").GetString()!;
        var runningId = running.Json.GetProperty("request_id").GetString()!;
        while (batcher.WaitingRows == 0)
        {
            await Task.Delay(2);
        }

        var waitingPoll = await Host.PostAsync("api/v1/retrieve_future", $$"""{"request_id":"{{waitingId}}"}""");
        var runningPoll = await Host.PostAsync("api/v1/retrieve_future", $$"""{"request_id":"{{runningId}}"}""");

        Assert.Equal("try_again", waitingPoll.Json.GetProperty("type").GetString());
        Assert.Equal("paused_capacity", waitingPoll.Json.GetProperty("queue_state").GetString());
        var reason = waitingPoll.Json.GetProperty("queue_state_reason").GetString();
        Assert.Contains("sampling batch of tinkerflow/tiny-qwen3 is full", reason, StringComparison.Ordinal);
        Assert.Contains("1 samples wait for room", reason, StringComparison.Ordinal);
        if (runningPoll.Json.TryGetProperty("type", out var type) && type.GetString() == "try_again")
        {
            Assert.Equal("active", runningPoll.Json.GetProperty("queue_state").GetString());
        }

        await Host.ResultAsync(runningId);
        var result = await Host.ResultAsync(waitingId);
        Assert.Equal(4, result.GetProperty("sequences")[0].GetProperty("tokens").GetArrayLength());
    }

    [Fact]
    public async Task ClientSamplingBeyondTheQueue_BacksOffOn429AndEverySampleSucceeds()
    {
        using var counter = new StatusCounter();
        var options = new TinkerClientOptions { BaseUrl = Host.BaseUrl, ApiKey = ServerHost.Alice, HttpMessageHandler = counter };
        await using var service = new ServiceClient(options);
        var sampler = await service.CreateSamplingClientAsync(baseModel: ServerHost.Model);
        var parameters = new SamplingParams { MaxTokens = 30, Temperature = 1, Seed = 5 };

        // Eight concurrent requests against a batch of two rows and a queue of two: most of them are refused at first.
        var futures = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            sampler.SampleAsync(WaitUntil.Completed, ModelInput.FromInts([1 + i, 2, 3]), 1, parameters)));

        Assert.True(counter.TooManyRequests("asample") > 0, "the server should have pushed back at least once");
        Assert.All(futures, f => Assert.Equal(30, Assert.Single(f.Value.Sequences).Tokens.Count));
        var alone = (await sampler.SampleAsync(WaitUntil.Completed, ModelInput.FromInts([1, 2, 3]), 1, parameters)).Value;
        Assert.Equal(alone.Sequences[0].Tokens, futures[0].Value.Sequences[0].Tokens);
    }

    private async Task<string> CreateSamplerAsync()
    {
        var session = await Host.CreateSessionAsync();
        var created = await Host.PostAsync("api/v1/create_sampling_session", $$"""{"session_id":"{{session}}","sampling_session_seq_id":0,"base_model":"{{ServerHost.Model}}","type":"create_sampling_session"}""");
        return created.Json.GetProperty("sampling_session_id").GetString()!;
    }

    private static string Body(string sampler, int seq, int numSamples, int maxTokens) =>
        $$"""{"num_samples":{{numSamples}},"prompt":{"chunks":[{"tokens":[1,2,3],"type":"encoded_text"}]},"sampling_params":{"max_tokens":{{maxTokens}},"temperature":1.0,"top_k":-1,"top_p":1.0,"seed":{{seq + 1}}},"sampling_session_id":"{{sampler}}","seq_id":{{seq}},"type":"sample"}""";

    /// <summary>Counts the answers per status and path that pass through the client's HTTP handler.</summary>
    private sealed class StatusCounter() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly Dictionary<string, int> _tooMany = new(StringComparer.Ordinal);

        public int TooManyRequests(string endpoint)
        {
            lock (_tooMany)
            {
                return _tooMany.GetValueOrDefault(endpoint);
            }
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                lock (_tooMany)
                {
                    var endpoint = request.RequestUri!.Segments[^1];
                    _tooMany[endpoint] = _tooMany.GetValueOrDefault(endpoint) + 1;
                }
            }

            return response;
        }
    }
}
