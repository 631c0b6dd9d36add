using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TinkerFlow.Local.Limits;
using TinkerFlow.Local.Tests.Backend;

namespace TinkerFlow.Server.Tests;

/// <summary>Every admission limit over the wire: status, category, a message naming limit, value and setting; nothing left reserved.</summary>
[Collection("Torch")]
public sealed class ResourceLimitTests : IDisposable
{
    private const string Prompt = """{"chunks":[{"tokens":[1,2,3],"type":"encoded_text"}]}""";
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Theory]
    [InlineData(1_000_000)]
    [InlineData(65_536)]
    public async Task CreateModel_HugeRank_IsRefusedInSecondsWithNothingAllocated(int rank)
    {
        await using var host = await ServerHost.StartAsync(_home.Path);
        var session = await host.CreateSessionAsync();
        var rss = Environment.WorkingSet;
        var watch = Stopwatch.StartNew();

        var reply = await host.PostAsync("api/v1/create_model", CreateModel(session, 0, rank));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        AssertRefused(reply, HttpStatusCode.BadRequest, $"lora_config.rank {rank}", "--max-lora-rank");
        Assert.Contains("maximum of 128", reply.Error);
        Assert.Equal(0, host.State.Engine.ReservedMemoryBytes);
        Assert.True(Environment.WorkingSet - rss < 256L << 20, $"RSS grew by {(Environment.WorkingSet - rss) >> 20} MiB");
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("api/v1/healthz")).Status);
        var model = await host.CreateModelAsync(session, 1);
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync("api/v1/get_info", $$"""{"model_id":"{{model}}"}""")).Status);
    }

    [Fact]
    public async Task FiftyMegabyteBody_Is413BeforeItIsRead_WithASmallBody()
    {
        await using var host = await ServerHost.StartAsync(_home.Path, o => o.MaxRequestBodyBytes = new ServerOptions().MaxRequestBodyBytes);
        var watch = Stopwatch.StartNew();

        // A raw client that announces 50 MB and sends only the first megabyte: the answer comes from the headers alone.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(host.BaseUrl.Host, host.BaseUrl.Port);
        var stream = tcp.GetStream();
        var head = $"POST /api/v1/create_session HTTP/1.1\r\nHost: {host.BaseUrl.Authority}\r\nX-API-Key: {ServerHost.Alice}\r\nContent-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
        try
        {
            await stream.WriteAsync(new byte[1024 * 1024]);
        }
        catch (IOException)
        {
            // The server may answer and close before the megabyte is through (broken pipe): that is the behaviour under test.
        }

        var answer = await ReadAnswerAsync(stream);

        // A client that waits for 100-continue never sends the body at all.
        using var content = new ByteArrayContent(new byte[50 * 1024 * 1024]);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/create_session") { Content = content };
        request.Headers.Add("X-API-Key", ServerHost.Alice);
        request.Headers.ExpectContinue = true;
        using var response = await host.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.True(body.Length < 1024, $"error body of {body.Length} characters");
        Assert.Contains("--max-request-body", body);
        Assert.Contains("\"category\":\"user\"", body);
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("api/v1/healthz")).Status);
    }

    private static async Task<string> ReadAnswerAsync(System.Net.Sockets.NetworkStream stream)
    {
        var buffer = new byte[64 * 1024];
        var text = new System.Text.StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!text.ToString().Contains("\"category\"", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            text.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, read));
        }

        return text.ToString();
    }

    [Fact]
    public async Task ErrorBodies_EchoOnlyABoundedPartOfUserValues()
    {
        await using var host = await ServerHost.StartAsync(_home.Path);
        var longId = new string('m', 200_000);

        var reply = await host.PostAsync("api/v1/get_info", $$"""{"model_id":"{{longId}}"}""");
        var sample = await host.PostAsync("api/v1/asample", $$"""{"prompt":{{Prompt}},"sampling_params":{"max_tokens":2},"sampling_session_id":"{{longId}}","type":"sample"}""");

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.True(reply.Body.Length < 4096, $"error body of {reply.Body.Length} bytes");
        Assert.Contains("characters omitted", reply.Error);
        Assert.True((int)sample.Status is >= 400 and < 500);
        Assert.True(sample.Body.Length < 4096, $"error body of {sample.Body.Length} bytes");
    }

    [Fact]
    public async Task MemoryBudgets_UserIs429WithRetryAfter_ServerIs429_AndUnloadFreesRoom()
    {
        var config = await TinyConfigAsync();
        var rank4 = MemoryEstimator.TrainingStateBytes(config, 4, true, true, true);
        await using var host = await ServerHost.StartAsync(_home.Path, o => o.Limits = new ResourceLimits { MemoryBudgetBytes = (rank4 * 2) + (rank4 / 5), UserMemoryBudgetBytes = rank4 + (rank4 / 2) });
        var alice = await host.CreateSessionAsync();
        var bob = await host.CreateSessionAsync(ServerHost.Bob);
        var aliceModel = await host.CreateModelAsync(alice, 0);

        var userFull = await host.PostAsync("api/v1/create_model", CreateModel(alice, 1, 4));
        await host.CreateModelAsync(bob, 0, ServerHost.Bob);
        using var third = new HttpRequestMessage(HttpMethod.Post, "api/v1/create_model") { Content = new StringContent(CreateModel(bob, 1, 1), System.Text.Encoding.UTF8, "application/json") };
        third.Headers.Add("X-API-Key", ServerHost.Bob);
        using var serverFull = await host.Http.SendAsync(third);
        var serverFullBody = await serverFull.Content.ReadAsStringAsync();

        AssertRefused(userFull, HttpStatusCode.TooManyRequests, "per-user memory budget", "--user-memory-budget");
        Assert.Equal(HttpStatusCode.TooManyRequests, serverFull.StatusCode);
        Assert.Equal("5", serverFull.Headers.RetryAfter?.ToString());
        Assert.Contains("--memory-budget", serverFullBody);
        Assert.Equal(2 * rank4, host.State.Engine.ReservedMemoryBytes);

        await host.CallAsync("api/v1/unload_model", $$"""{"model_id":"{{aliceModel}}","type":"unload_model"}""");
        Assert.Equal(rank4, host.State.Engine.ReservedMemoryBytes);
        await host.CreateModelAsync(alice, 2);
    }

    [Fact]
    public async Task Sample_KvCacheAboveTheLimitIs400_AndAboveTheFreeBudgetIs429()
    {
        var config = await TinyConfigAsync();
        var fits = MemoryEstimator.SampleBytes(config, 4, 3, 8, false);
        var rank4 = MemoryEstimator.TrainingStateBytes(config, 4, true, true, true);
        await using var host = await ServerHost.StartAsync(_home.Path, o => o.Limits = new ResourceLimits { MemoryBudgetBytes = rank4 + (fits / 2), UserMemoryBudgetBytes = rank4 + fits, MaxSampleBytes = fits });
        var session = await host.CreateSessionAsync();
        var sampler = (await host.PostAsync("api/v1/create_sampling_session", $$"""{"session_id":"{{session}}","sampling_session_seq_id":0,"base_model":"{{ServerHost.Model}}","type":"create_sampling_session"}""")).Json.GetProperty("sampling_session_id").GetString()!;

        var tooBig = await host.PostAsync("api/v1/asample", Sample(sampler, 64, 8));
        var ok = await host.CallAsync("api/v1/asample", Sample(sampler, 2, 8));
        await host.CreateModelAsync(session, 0);
        var busy = await host.PostAsync("api/v1/asample", Sample(sampler, 4, 8));

        AssertRefused(tooBig, HttpStatusCode.BadRequest, "num_samples 64 × (prompt 3 + max_tokens 8 tokens)", "--max-sample-bytes");
        Assert.Equal(2, ok.GetProperty("sequences").GetArrayLength());
        AssertRefused(busy, HttpStatusCode.TooManyRequests, "server's memory budget", "--memory-budget");
        Assert.Equal(rank4, host.State.Engine.ReservedMemoryBytes);
    }

    [Fact]
    public async Task ForwardBackward_TokensAboveTheLimitAre400()
    {
        await using var host = await ServerHost.StartAsync(_home.Path, o => o.Limits = new ResourceLimits { MaxForwardBackwardTokens = 3 });
        var session = await host.CreateSessionAsync();
        var model = await host.CreateModelAsync(session);

        var reply = await host.PostAsync("api/v1/forward_backward", ServerHost.SimpleForwardBackward(model, 1));

        AssertRefused(reply, HttpStatusCode.BadRequest, "4 model-input tokens", "--max-forward-backward-tokens");
    }

    [Fact]
    public async Task PerUserCounts_SessionsModelsAndSamplers_Are429()
    {
        await using var host = await ServerHost.StartAsync(_home.Path, o => o.Limits = new ResourceLimits { MaxSessionsPerUser = 2, MaxModelsPerUser = 1, MaxSamplersPerUser = 1 });
        var session = await host.CreateSessionAsync();
        await host.CreateSessionAsync();
        await host.CreateModelAsync(session, 0);
        var firstSampler = await host.PostAsync("api/v1/create_sampling_session", $$"""{"session_id":"{{session}}","sampling_session_seq_id":1,"base_model":"{{ServerHost.Model}}","type":"create_sampling_session"}""");
        Assert.Equal(HttpStatusCode.OK, firstSampler.Status);

        var sessions = await host.PostAsync("api/v1/create_session", """{"tags":[],"user_metadata":{},"sdk_version":"0.18.2","type":"create_session"}""");
        var models = await host.PostAsync("api/v1/create_model", CreateModel(session, 1, 4));
        var samplers = await host.PostAsync("api/v1/create_sampling_session", $$"""{"session_id":"{{session}}","sampling_session_seq_id":2,"base_model":"{{ServerHost.Model}}","type":"create_sampling_session"}""");
        var bobSession = await host.CreateSessionAsync(ServerHost.Bob);

        AssertRefused(sessions, HttpStatusCode.TooManyRequests, "2 live sessions", "--max-sessions-per-user");
        AssertRefused(models, HttpStatusCode.TooManyRequests, "1 training models", "--max-models-per-user");
        AssertRefused(samplers, HttpStatusCode.TooManyRequests, "1 sampling sessions", "--max-samplers-per-user");
        Assert.StartsWith("sess", bobSession, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdleSessions_AreUnloadedWithTheirMemory_AndTheirCheckpointsStayLoadable()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await ServerHost.StartAsync(_home.Path, o => o.TimeProvider = time);
        var session = await host.CreateSessionAsync();
        var model = await host.CreateModelAsync(session);
        var saved = await host.CallAsync("api/v1/save_weights", $$"""{"model_id":"{{model}}","path":"kept","seq_id":1,"type":"save_weights"}""");
        await host.CallAsync("api/v1/save_weights_for_sampler", $$"""{"model_id":"{{model}}","sampling_session_seq_id":1,"seq_id":2,"type":"save_weights_for_sampler"}""");
        Assert.True(host.State.Engine.ReservedMemoryBytes > 0);

        time.Advance(TimeSpan.FromSeconds(301));
        host.App.Services.GetRequiredService<ServerSweeper>().SweepOnce();
        for (var i = 0; i < 100 && host.State.Engine.ReservedMemoryBytes > 0; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(0, host.State.Engine.ReservedMemoryBytes);
        Assert.Empty(host.State.Engine.LoadedSessionIds);
        var path = saved.GetProperty("path").GetString()!;
        var fresh = await host.CreateSessionAsync();
        var reloaded = await host.CreateModelAsync(fresh);
        var load = await host.CallAsync("api/v1/load_weights", $$"""{"model_id":"{{reloaded}}","path":"{{path}}","optimizer":true,"seq_id":1,"type":"load_weights"}""");
        Assert.False(load.TryGetProperty("error", out _), load.ToString());
    }

    [Fact]
    public async Task Limits_AreReadableByClientsAndListedInHelp()
    {
        await using var host = await ServerHost.StartAsync(_home.Path, o => o.Limits = new ResourceLimits { MaxLoraRank = 300, MemoryBudgetBytes = 1L << 30, MaxModelsPerUser = 7 });

        var limits = (await host.GetAsync("api/v1/limits")).Json;
        var help = ServerArguments.Help();

        Assert.Equal(300, limits.GetProperty("max_lora_rank").GetInt32());
        Assert.Equal(1L << 30, limits.GetProperty("memory_budget_bytes").GetInt64());
        Assert.Equal(1L << 28, limits.GetProperty("user_memory_budget_bytes").GetInt64());
        Assert.Equal(1L << 27, limits.GetProperty("max_sample_bytes").GetInt64());
        Assert.Equal(7, limits.GetProperty("max_models_per_user").GetInt32());
        Assert.Equal(256 * 1024, limits.GetProperty("max_request_body_bytes").GetInt64());
        var tiny = Assert.Single(limits.GetProperty("models").EnumerateArray());
        Assert.Equal(128, tiny.GetProperty("max_lora_rank").GetInt32());   // the model's hidden size caps the configured 300
        var readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        Assert.Equal(256, limits.GetProperty("max_concurrent_samples").GetInt32());
        Assert.Equal(1L << 30, limits.GetProperty("max_batch_kv_bytes").GetInt64());
        Assert.Equal(1024, limits.GetProperty("max_waiting_samples").GetInt32());
        foreach (var option in ServerArguments.Settings().Select(s => s.Name))
        {
            Assert.Contains(option, help);
            Assert.Contains(option, readme);
        }
    }

    [Fact]
    public void Arguments_ParseSizesAndCountsIntoTheLimits()
    {
        var app = TinkerFlowServer.Build(
            ["--urls", "http://127.0.0.1:0", "--home", _home.Path, "--max-lora-rank", "64", "--memory-budget=2G", "--user-memory-budget", "512M", "--max-sample-bytes", "64MiB", "--max-forward-backward-tokens", "1000", "--max-sessions-per-user", "3", "--max-models-per-user", "2", "--max-samplers-per-user", "5", "--max-request-body", "1M"],
            o => o.ApiKeys = [ServerHost.Alice]);
        var options = app.Services.GetRequiredService<ServerOptions>();

        Assert.Equal(new ResourceLimits { MaxLoraRank = 64, MemoryBudgetBytes = 2L << 30, UserMemoryBudgetBytes = 512L << 20, MaxSampleBytes = 64L << 20, MaxForwardBackwardTokens = 1000, MaxSessionsPerUser = 3, MaxModelsPerUser = 2, MaxSamplersPerUser = 5 }, options.Limits);
        Assert.Equal(1L << 20, options.MaxRequestBodyBytes);
        var bad = Assert.Throws<ArgumentException>(() => TinkerFlowServer.Build(["--memory-budget", "lots"]));
        Assert.Contains("--memory-budget", bad.Message);
        ((IDisposable)app).Dispose();
    }

    private static Task<TinkerFlow.Local.Model.TransformerConfig> TinyConfigAsync()
    {
        Assert.True(TinkerFlow.Local.BuiltinModels.BuiltinModelCatalog.TryGet(ServerHost.Model, out var assets));
        return Task.FromResult(TinkerFlow.Local.Model.TransformerConfig.Parse(assets.ConfigJson));
    }

    private static void AssertRefused(Reply reply, HttpStatusCode status, string mentions, string setting)
    {
        Assert.True(reply.Status == status, $"expected {(int)status}, got {(int)reply.Status} {reply.Text}");
        Assert.Equal("user", reply.Json.GetProperty("category").GetString());
        Assert.Contains(mentions, reply.Error);
        Assert.Contains(setting, reply.Error);
    }

    private static string CreateModel(string session, int seq, int rank) =>
        $$"""{"session_id":"{{session}}","model_seq_id":{{seq}},"base_model":"{{ServerHost.Model}}","lora_config":{"rank":{{rank}},"seed":7,"train_unembed":true,"train_mlp":true,"train_attn":true},"type":"create_model"}""";

    private static string Sample(string sampler, int n, int maxTokens) =>
        $$"""{"num_samples":{{n}},"prompt":{{Prompt}},"sampling_params":{"max_tokens":{{maxTokens}},"seed":1},"sampling_session_id":"{{sampler}}","type":"sample"}""";

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "README.md")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("README.md not found above the test binaries.");
    }
}
