using TinkerFlow.Tests.Types;
using TinkerFlow.Types;
using static TinkerFlow.Tests.Http.ScriptedHandler;

namespace TinkerFlow.Tests.Http;

public class HttpBackendRestTests
{
    private const string Run = "sess-1:train:0";

    [Fact]
    public async Task RestPaths_AreExactWithUnescapedColonsAndTwoSegmentCheckpointIds()
    {
        await using var t = new HttpTestContext();
        var h = t.Handler;
        h.On($"GET /api/v1/training_runs/{Run}", Json(200, HttpTestContext.Golden("training_run.json")));
        h.On("GET /api/v1/training_runs", Json(200, HttpTestContext.Golden("training_runs_response.json")));
        h.On($"GET /api/v1/training_runs/{Run}/checkpoints", Json(200, HttpTestContext.Golden("checkpoints_list_response.json")));
        h.On("GET /api/v1/checkpoints", Json(200, HttpTestContext.Golden("checkpoints_list_response.json")));
        h.On($"DELETE /api/v1/training_runs/{Run}/checkpoints/weights/step-1", Status(204));
        h.On($"POST /api/v1/training_runs/{Run}/checkpoints/sampler_weights/s-1/publish", Status(200));
        h.On($"DELETE /api/v1/training_runs/{Run}/checkpoints/sampler_weights/s-1/publish", Status(200));
        h.On($"PUT /api/v1/training_runs/{Run}/checkpoints/weights/step-1/ttl", Json(200, "{}"));
        h.On("GET /api/v1/sessions", Json(200, HttpTestContext.Golden("list_sessions_response.json")));
        h.On("GET /api/v1/sessions/sess-1", Json(200, HttpTestContext.Golden("get_session_response.json")));
        h.On("GET /api/v1/samplers/sess-1:sample:1", Json(200, HttpTestContext.Golden("get_sampler_response.json")));
        h.On("POST /api/v1/weights_info", Json(200, HttpTestContext.Golden("weights_info_response.json")));
        h.On("POST /api/v1/get_info", Json(200, HttpTestContext.Golden("get_info_response.json")));

        var b = t.Backend;
        Assert.Equal(Run.Replace("sess-1", "sess-fe4d1c31", StringComparison.Ordinal), (await b.GetTrainingRunAsync(Run, AccessScope.Owned)).TrainingRunId);
        await b.GetTrainingRunAsync(Run, AccessScope.Accessible);
        Assert.Equal(21, (await b.ListTrainingRunsAsync(20, 20, AccessScope.Owned)).Cursor.TotalCount);
        await b.ListCheckpointsAsync(Run);
        await b.ListUserCheckpointsAsync(100, 0);
        await b.DeleteCheckpointAsync(Run, "weights/step-1");
        await b.PublishCheckpointAsync(Run, "sampler_weights/s-1");
        await b.UnpublishCheckpointAsync(Run, "sampler_weights/s-1");
        await b.SetCheckpointTtlAsync(Run, "weights/step-1", 3600);
        await b.SetCheckpointTtlAsync(Run, "weights/step-1", null);
        Assert.Equal(2, (await b.ListSessionsAsync(20, 0)).Sessions.Count);
        await b.GetSessionAsync("sess-1");
        Assert.Equal("fake/tiny-model", (await b.GetSamplerAsync("sess-1:sample:1")).BaseModel);
        Assert.Equal(8, (await b.GetWeightsInfoAsync(new WeightsInfoRequest { TinkerPath = $"tinker://{Run}/weights/step-1" })).LoraRank);
        await b.GetInfoAsync(new GetInfoRequest { ModelId = Run });

        Assert.Equal(
            [
                "POST /api/v1/client/config",
                $"GET /api/v1/training_runs/{Run}?access_scope=owned",
                $"GET /api/v1/training_runs/{Run}?access_scope=accessible",
                "GET /api/v1/training_runs?limit=20&offset=20&access_scope=owned",
                $"GET /api/v1/training_runs/{Run}/checkpoints",
                "GET /api/v1/checkpoints?limit=100&offset=0",
                $"DELETE /api/v1/training_runs/{Run}/checkpoints/weights/step-1",
                $"POST /api/v1/training_runs/{Run}/checkpoints/sampler_weights/s-1/publish",
                $"DELETE /api/v1/training_runs/{Run}/checkpoints/sampler_weights/s-1/publish",
                $"PUT /api/v1/training_runs/{Run}/checkpoints/weights/step-1/ttl",
                $"PUT /api/v1/training_runs/{Run}/checkpoints/weights/step-1/ttl",
                "GET /api/v1/sessions?limit=20&offset=0&access_scope=owned",
                "GET /api/v1/sessions/sess-1?access_scope=owned",
                "GET /api/v1/samplers/sess-1:sample:1",
                "POST /api/v1/weights_info",
                "POST /api/v1/get_info",
            ],
            h.Requests.Select(r => r.Line));
        Assert.All(h.Requests, r => Assert.DoesNotContain("%3A", r.Uri.AbsoluteUri, StringComparison.OrdinalIgnoreCase));
        var ttl = h.Requests.Where(r => r.Uri.AbsolutePath.EndsWith("/ttl", StringComparison.Ordinal)).ToList();
        JsonAssert.Equal("""{"ttl_seconds":3600}""", ttl[0].Body!);
        JsonAssert.Equal("""{"ttl_seconds":null}""", ttl[1].Body!);
        JsonAssert.Equal($$"""{"tinker_path":"tinker://{{Run}}/weights/step-1"}""", h.To("/weights_info")[0].Body!);
    }

    [Fact]
    public async Task Archive_302IsParsedWithItsExpiresHeaderAndNotFollowed()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(
            $"GET /api/v1/training_runs/{Run}/checkpoints/weights/step-1/archive",
            Status(302, ("Location", "https://storage.test/archives/a.tar.gz?sig=abc"), ("Expires", "Thu, 01 Jan 2026 01:00:00 GMT")));

        var archive = await t.Backend.GetCheckpointArchiveUrlAsync(Run, "weights/step-1");

        Assert.Equal("https://storage.test/archives/a.tar.gz?sig=abc", archive.Url);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 1, 0, 0, TimeSpan.Zero), archive.Expires);
        Assert.DoesNotContain(t.Handler.Requests, r => r.Uri.Host == "storage.test");
    }

    [Fact]
    public async Task Archive_WithoutExpiresDefaultsTo15MinutesAndAcceptsJson()
    {
        await using var t = new HttpTestContext();
        t.Handler.On($"GET /api/v1/training_runs/{Run}/checkpoints/weights/a/archive", Status(302, ("Location", "/files/a.tar.gz")));
        t.Handler.On($"GET /api/v1/training_runs/{Run}/checkpoints/weights/b/archive", Json(200, """{"url":"https://s.test/b","expires":"2026-01-02T00:00:00Z"}"""));

        var a = await t.Backend.GetCheckpointArchiveUrlAsync(Run, "weights/a");
        var b = await t.Backend.GetCheckpointArchiveUrlAsync(Run, "weights/b");

        Assert.Equal("http://tinker.test/files/a.tar.gz", a.Url);
        Assert.Equal(t.Time.GetUtcNow() + TimeSpan.FromMinutes(15), a.Expires);
        Assert.Equal("https://s.test/b", b.Url);
    }

    [Fact]
    public async Task Archive_503WaitsThirtySecondsAndTriesAgain()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(
            $"GET /api/v1/training_runs/{Run}/checkpoints/weights/a/archive",
            Json(503, """{"detail":"archive is being prepared"}"""),
            Status(302, ("Location", "https://s.test/a")));

        var pending = t.Backend.GetCheckpointArchiveUrlAsync(Run, "weights/a");
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("https://s.test/a", (await pending.WaitAsync(TimeSpan.FromSeconds(10))).Url);
    }

    [Fact]
    public async Task Rest_ErrorBodyFormsAreParsed()
    {
        await using var t = new HttpTestContext();
        t.Handler.On("GET /api/v1/samplers/a", Json(404, """{"detail":"sampler a not found"}"""));
        t.Handler.On("GET /api/v1/samplers/b", Json(403, """{"error":"not yours","category":"user"}"""));
        t.Handler.On("GET /api/v1/samplers/c", Json(401, """{"error":{"message":"bad key"}}"""));

        var a = await Assert.ThrowsAsync<TinkerRequestException>(() => t.Backend.GetSamplerAsync("a"));
        var b = await Assert.ThrowsAsync<TinkerRequestException>(() => t.Backend.GetSamplerAsync("b"));
        var c = await Assert.ThrowsAsync<TinkerRequestException>(() => t.Backend.GetSamplerAsync("c"));

        Assert.Contains("sampler a not found", a.Message);
        Assert.Contains("not yours", b.Message);
        Assert.Contains("bad key", c.Message);
        Assert.Contains("TINKER_API_KEY", c.Message);
        Assert.All(new[] { a, b, c }, e => Assert.Equal(RequestErrorCategory.User, e.Category));
    }
}
