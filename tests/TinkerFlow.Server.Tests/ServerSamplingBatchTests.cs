using System.Text.Json;
using TinkerFlow.Local.Tests.Backend;

namespace TinkerFlow.Server.Tests;

[Collection("Torch")]
public sealed class ServerSamplingBatchTests : IAsyncLifetime
{
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
    public async Task ConcurrentSampleRequests_ShareOneDecodeBatchAndMatchTheirRunsAlone()
    {
        var session = await Host.CreateSessionAsync();
        var created = await Host.PostAsync("api/v1/create_sampling_session", $$"""{"session_id":"{{session}}","sampling_session_seq_id":0,"base_model":"{{ServerHost.Model}}","type":"create_sampling_session"}""");
        var sampler = created.Json.GetProperty("sampling_session_id").GetString()!;
        string Body(int i) => $$"""{"num_samples":1,"prompt":{"chunks":[{"tokens":[{{i + 1}},{{i + 2}},{{i + 3}}],"type":"encoded_text"}]},"sampling_params":{"max_tokens":24,"temperature":1.0,"top_k":-1,"top_p":1.0,"seed":{{100 + i}}},"sampling_session_id":"{{sampler}}","type":"sample"}""";

        // Submit all before polling any, so they overlap in the engine.
        var submitted = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Host.PostAsync("api/v1/asample", Body(i))));
        var together = await Task.WhenAll(submitted.Select(r => Host.ResultAsync(r.Json.GetProperty("request_id").GetString()!)));

        var batcher = Host.State.Engine.BatcherFor(Host.State.Engine.Models.Get(ServerHost.Model));
        Assert.True(batcher.PeakRows > 1, $"concurrent requests should decode in one batch; peak rows {batcher.PeakRows}");
        for (int i = 0; i < together.Length; i++)
        {
            var alone = await Host.CallAsync("api/v1/asample", Body(i));
            Assert.Equal(Tokens(alone), Tokens(together[i]));
            Assert.Equal(24, Tokens(together[i]).Length);
        }
    }

    private static int[] Tokens(JsonElement response) =>
        [.. response.GetProperty("sequences")[0].GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32())];
}
