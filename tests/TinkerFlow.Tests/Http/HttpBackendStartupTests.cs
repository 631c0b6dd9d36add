using System.Text.Json;
using TinkerFlow.Http;
using TinkerFlow.Tests.Types;
using TinkerFlow.Types;
using static TinkerFlow.Tests.Http.ScriptedHandler;

namespace TinkerFlow.Tests.Http;

public class HttpBackendStartupTests
{
    [Fact]
    public async Task Startup_SendsClientConfigFirstWithSdkVersionOnce()
    {
        await using var t = new HttpTestContext();
        t.Handler.On("GET /api/v1/get_server_capabilities", Json(200, HttpTestContext.Golden("get_server_capabilities_response.json")));

        var first = await t.Backend.GetServerCapabilitiesAsync();
        await t.Backend.GetServerCapabilitiesAsync();

        Assert.Equal("Qwen/Qwen3-8B", first.SupportedModels[0].ModelName);
        var requests = t.Handler.Requests;
        Assert.Equal(
            ["POST /api/v1/client/config", "GET /api/v1/get_server_capabilities", "GET /api/v1/get_server_capabilities"],
            requests.Select(r => r.Line));
        JsonAssert.Equal($$"""{"sdk_version":"{{ServiceClient.EmulatedSdkVersion}}"}""", requests[0].Body!);
        Assert.NotNull(t.Backend.Config);
    }

    [Fact]
    public async Task Requests_CarryApiKeyUserAgentAcceptAndIdempotencyOnNonGet()
    {
        await using var t = new HttpTestContext();
        t.Handler.On("GET /api/v1/get_server_capabilities", Json(200, """{"supported_models":[]}"""));
        t.Handler.On("POST /api/v1/create_session", Json(200, HttpTestContext.Golden("create_session_response.json")));

        await t.Backend.GetServerCapabilitiesAsync();
        await t.Backend.CreateSessionAsync(new CreateSessionRequest { SdkVersion = "0.24.1" });

        Assert.All(t.Handler.Requests, r =>
        {
            Assert.Equal(HttpTestContext.ApiKey, r.Header("X-API-Key"));
            Assert.StartsWith("TinkerFlow/", r.Header("User-Agent"));
            Assert.Contains("application/json", r.Header("Accept"));
        });
        Assert.All(t.Handler.Requests.Where(r => r.Method == HttpMethod.Post), r =>
        {
            Assert.StartsWith("tinkerflow-retry-", r.Header("X-Idempotency-Key"));
            Assert.StartsWith("application/json", r.Header("Content-Type"));
        });
        Assert.Null(t.Handler.To("/get_server_capabilities")[0].Header("X-Idempotency-Key"));
    }

    [Fact]
    public async Task BaseUrl_PathIsKeptAndApiPathAppended()
    {
        await using var t = new HttpTestContext(baseUrl: "http://tinker.test/services/tinker-prod/");
        t.Handler.On("POST /services/tinker-prod/api/v1/client/config", Json(200, "{}"));
        t.Handler.On("GET /services/tinker-prod/api/v1/get_server_capabilities", Json(200, """{"supported_models":[]}"""));

        await t.Backend.GetServerCapabilitiesAsync();

        Assert.Equal("http://tinker.test/services/tinker-prod/api/v1/client/config", t.Handler.Requests[0].Uri.AbsoluteUri);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sk-not-a-tinker-key")]
    public void ApiKey_MissingOrMalformedFailsAtConstructionNamingTheEnvironmentVariable(string? key)
    {
        var options = new TinkerClientOptions { ApiKey = key };

        var ex = Assert.Throws<InvalidOperationException>(() => new HttpBackend(new Uri("http://tinker.test"), options, new ScriptedHandler()));

        Assert.Contains("TINKER_API_KEY", ex.Message);
        Assert.Contains("tml-", ex.Message);
    }

    [Fact]
    public async Task ApiKey_JwtIsAccepted()
    {
        var options = new TinkerClientOptions { ApiKey = "eyJhbGciOiJIUzI1NiJ9.e30.sig" };
        await using var backend = new HttpBackend(new Uri("http://tinker.test"), options, new ScriptedHandler());
        Assert.Equal("http://tinker.test", backend.Name);
    }

    [Fact]
    public async Task Startup_404OnClientConfigSaysTheServerIsNotTinkerCompatible()
    {
        await using var t = new HttpTestContext();
        t.Handler.On("POST /api/v1/client/config", Json(404, """{"detail":"Not Found"}"""));

        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => t.Backend.GetServerCapabilitiesAsync());

        Assert.Equal(404, ex.Status);
        Assert.Contains("not Tinker-compatible", ex.Message);
        Assert.Single(t.Handler.Requests);
    }

    [Fact]
    public async Task CreateSession_BodyMatchesTheCapturedGoldenShape()
    {
        await using var t = new HttpTestContext();
        t.Handler.On("POST /api/v1/create_session", Json(200, HttpTestContext.Golden("create_session_response.json")));

        var response = await t.Backend.CreateSessionAsync(new CreateSessionRequest
        {
            SdkVersion = "0.18.2",
            UserMetadata = new Dictionary<string, string> { ["who"] = "probe" },
        });

        Assert.False(string.IsNullOrEmpty(response.SessionId));
        JsonAssert.Equal(HttpTestContext.Golden("create_session_request.json"), t.Handler.To("/create_session").Single().Body!);
    }

    [Fact]
    public async Task ServiceClient_WithBaseUrlUsesTheHttpBackendAndTheConfiguredHandler()
    {
        var handler = new ScriptedHandler().On("GET /api/v1/get_server_capabilities", Json(200, HttpTestContext.Golden("get_server_capabilities_response.json")));
        var options = new TinkerClientOptions { BaseUrl = new Uri("http://127.0.0.1:9"), ApiKey = "tml-x", HttpMessageHandler = handler };
        await using (var service = new ServiceClient(options))
        {
            Assert.IsType<HttpBackend>(service.Backend);
            Assert.Equal("http://127.0.0.1:9", service.Backend.Name);
            Assert.Equal(2, (await service.GetServerCapabilitiesAsync()).SupportedModels.Count);
        }

        // The caller's handler outlives the client.
        await using var again = new HttpBackend(new Uri("http://127.0.0.1:9"), options);
        await again.GetServerCapabilitiesAsync();
        Assert.Equal(4, handler.Requests.Count);
    }

    [Fact]
    public async Task JwtMode_ExchangesTheKeyAndSendsTheJwt()
    {
        var exp = DateTimeOffset.Parse("2026-01-01T01:00:00Z").ToUnixTimeSeconds();
        var payload = Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, long> { ["exp"] = exp })).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var jwt = $"eyJhbGciOiJIUzI1NiJ9.{payload}.sig";
        await using var t = new HttpTestContext();
        t.Handler.On("POST /api/v1/client/config", Json(200, """{"pjwt_auth_enabled":true}"""));
        t.Handler.On("POST /api/v1/auth/token", Json(200, $$"""{"jwt":"{{jwt}}"}"""));
        t.Handler.On("GET /api/v1/get_server_capabilities", Json(200, """{"supported_models":[]}"""));

        await t.Backend.GetServerCapabilitiesAsync();
        t.Time.Advance(TimeSpan.FromMinutes(56)); // less than 300 s left: refreshed before use
        await t.Backend.GetServerCapabilitiesAsync();

        Assert.Equal(
            ["POST /api/v1/client/config", "POST /api/v1/auth/token", "GET /api/v1/get_server_capabilities", "POST /api/v1/auth/token", "GET /api/v1/get_server_capabilities"],
            t.Handler.Requests.Select(r => r.Line));
        Assert.Equal(HttpTestContext.ApiKey, t.Handler.To("/auth/token")[0].Header("X-API-Key"));
        Assert.Equal("{}", t.Handler.To("/auth/token")[0].Body);
        Assert.All(t.Handler.To("/get_server_capabilities"), r => Assert.Equal(jwt, r.Header("X-API-Key")));
    }

    [Fact]
    public async Task GetTokenizer_NotFoundSaysWhereItLookedAndWhatToSet()
    {
        string empty = Directory.CreateTempSubdirectory("tf-no-tokenizers-").FullName;
        try
        {
            await using var t = new HttpTestContext(o => { o.TokenizerDirectory = empty; o.HuggingFaceHubCache = empty; });

            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => t.Backend.GetTokenizerAsync("Qwen/Qwen3-8B"));

            Assert.Contains("Qwen/Qwen3-8B", ex.Message);
            Assert.Contains(Path.Combine(empty, "Qwen/Qwen3-8B"), ex.Message);
            Assert.Contains(Path.Combine(empty, "models--Qwen--Qwen3-8B", "snapshots", "*", "tokenizer.json"), ex.Message);
            Assert.Contains("TINKERFLOW_TOKENIZERS", ex.Message);
            Assert.Contains("HF_HOME", ex.Message);
            Assert.Contains("TinkerClientOptions.TokenizerResolver", ex.Message);
            Assert.Empty(t.Handler.Requests);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task GetTokenizer_UsesTheResolver()
    {
        var tokenizer = new StubTokenizer();
        string? asked = null;
        await using var t = new HttpTestContext(o => o.TokenizerResolver = model => { asked = model; return tokenizer; });

        Assert.Same(tokenizer, await t.Backend.GetTokenizerAsync("Qwen/Qwen3-8B"));
        Assert.Equal("Qwen/Qwen3-8B", asked);
    }

    [Fact]
    public async Task Heartbeat_IsNotRetried()
    {
        await using var t = new HttpTestContext();
        t.Handler.On("POST /api/v1/session_heartbeat", Json(503, """{"detail":"down"}"""));

        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => t.Backend.SessionHeartbeatAsync(new SessionHeartbeatRequest { SessionId = "s" }));

        Assert.Equal(503, ex.Status);
        Assert.Single(t.Handler.To("/session_heartbeat"));
        JsonAssert.Equal("""{"session_id":"s","type":"session_heartbeat"}""", t.Handler.To("/session_heartbeat")[0].Body!);
    }

    private sealed class StubTokenizer : TinkerTokenizer
    {
        public override string Name => "stub";

        public override int VocabSize => 1;

        public override int EosTokenId => 0;

        public override IReadOnlyList<int> Encode(string text, bool allowSpecialTokens = true) => [];

        public override string Decode(IEnumerable<int> tokens) => "";

        public override int? TokenToId(string token) => null;
    }
}
