using System.Text.Json;
using TinkerFlow.Tests.Types;
using TinkerFlow.Types;
using static TinkerFlow.Tests.Http.ScriptedHandler;

namespace TinkerFlow.Tests.Http;

public class HttpBackendFutureTests
{
    private const string Retrieve = "POST /api/v1/retrieve_future";
    private const string Submit = "POST /api/v1/forward_backward";

    private static readonly string Output = HttpTestContext.Golden("forward_backward_output.json");

    [Fact]
    public async Task Future_PollsThroughTryAgainToTheResult()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Future("req-1"));
        t.Handler.On(Retrieve, TryAgain("req-1"), TryAgain("req-1"), Json(200, Output));

        var op = await t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        var result = await op.Result.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("req-1", op.RequestId);
        Assert.Equal(4.5, result.Metrics["loss:sum"]);
        var polls = t.Handler.To("/retrieve_future");
        Assert.Equal(3, polls.Count);
        Assert.Equal(["0", "1", "2"], polls.Select(p => p.Header("X-Tinker-Request-Iteration")));
        Assert.All(polls, p => Assert.Equal("ForwardBackward", p.Header("X-Tinker-Request-Type")));
        Assert.NotNull(polls[0].Header("X-Tinker-Create-Promise-Roundtrip-Time"));
        Assert.Null(polls[1].Header("X-Tinker-Create-Promise-Roundtrip-Time"));
        Assert.All(polls, p => JsonAssert.Equal("""{"request_id":"req-1","allow_metadata_only":true}""", p.Body!));

        // try_again re-polls at once: no back-off timer was ever created.
        Assert.DoesNotContain(t.Time.Created, d => d < TimeSpan.FromSeconds(45));
    }

    [Fact]
    public async Task Future_CompleteMetadataAsksForThePayload()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Future("req-1"));
        t.Handler.On(Retrieve, Json(200, """{"status":"complete_metadata","response_payload_size":123}"""), Json(200, Output));

        var op = await t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        await op.Result.WaitAsync(TimeSpan.FromSeconds(10));

        var polls = t.Handler.To("/retrieve_future");
        Assert.Equal(2, polls.Count);
        Assert.True(JsonDocument.Parse(polls[0].Body!).RootElement.GetProperty("allow_metadata_only").GetBoolean());
        Assert.False(JsonDocument.Parse(polls[1].Body!).RootElement.GetProperty("allow_metadata_only").GetBoolean());
    }

    [Fact]
    public async Task Future_408And5xxRepollImmediately()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Future("req-1"));
        t.Handler.On(
            Retrieve,
            Json(408, """{"queue_state":"active"}"""),
            Json(500, """{"detail":"boom"}"""),
            Status(502),
            Json(503, """{"detail":"later"}"""),
            Json(200, Output));

        var op = await t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        var result = await op.Result.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(4.5, result.Metrics["loss:sum"]);
        Assert.Equal(5, t.Handler.To("/retrieve_future").Count);
        Assert.DoesNotContain(t.Time.Created, d => d < TimeSpan.FromSeconds(45));
    }

    [Fact]
    public async Task Future_429BacksOffAndAdvancesOnlyWithFakeTime()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Future("req-1"));
        t.Handler.On(Retrieve, Status(429), Status(429), Json(200, Output));

        var op = await t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());

        await t.Time.WaitForTimerAsync(TimeSpan.FromSeconds(1));
        Assert.Single(t.Handler.To("/retrieve_future"));
        Assert.False(op.Result.IsCompleted);
        t.Time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Single(t.Handler.To("/retrieve_future"));
        t.Time.Advance(TimeSpan.FromMilliseconds(1));

        await t.Time.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(2, t.Handler.To("/retrieve_future").Count);
        Assert.False(op.Result.IsCompleted);
        t.Time.Advance(TimeSpan.FromSeconds(2));

        var result = await op.Result.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4.5, result.Metrics["loss:sum"]);
        Assert.Equal(3, t.Handler.To("/retrieve_future").Count);
    }

    [Theory]
    [InlineData("user", RequestErrorCategory.User)]
    [InlineData("server", RequestErrorCategory.Server)]
    [InlineData("something-new", RequestErrorCategory.Unknown)]
    public async Task Future_ErrorPayloadFailsWithItsCategoryAndIsNotTransient(string category, RequestErrorCategory expected)
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Future("req-9"));
        t.Handler.On(Retrieve, Json(200, $$"""{"error":"target_tokens has 3 elements, expected 4","category":"{{category}}"}"""));

        var op = await t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => op.Result.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(expected, ex.Category);
        Assert.Equal("req-9", ex.RequestId);
        Assert.Contains("target_tokens has 3 elements", ex.Message);
        Assert.False(ex.IsTransient);
        Assert.Single(t.Handler.To("/retrieve_future"));
    }

    [Fact]
    public async Task Future_404IsFatal()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Future("req-1"));
        t.Handler.On(Retrieve, Json(404, """{"detail":"unknown request_id"}"""));

        var op = await t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => op.Result.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(404, ex.Status);
        Assert.Equal(RequestErrorCategory.User, ex.Category);
        Assert.Equal("req-1", ex.RequestId);
        Assert.Contains("unknown request_id", ex.Message);
        Assert.Single(t.Handler.To("/retrieve_future"));
    }

    [Fact]
    public async Task Future_410FailsWithStatus410()
    {
        await using var t = new HttpTestContext();
        t.Handler.On("POST /api/v1/asample", Future("req-1"));
        t.Handler.On(Retrieve, Json(410, """{"detail":"promise expired"}"""));

        var op = await t.Backend.SampleAsync(TinkerJson.Deserialize<SampleRequest>(HttpTestContext.Golden("sample_request.json")));
        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => op.Result.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(410, ex.Status);
        Assert.Equal("Sample", t.Handler.To("/retrieve_future")[0].Header("X-Tinker-Request-Type"));
    }

    [Fact]
    public async Task Future_BareBadRequestIsToleratedThreeTimes()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Future("ok"), Future("bad"));
        t.Handler.On(Retrieve, Status(400), Status(400), Status(400), Json(200, Output));

        var op = await t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        await op.Result.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4, t.Handler.To("/retrieve_future").Count);

        await using var t2 = new HttpTestContext();
        t2.Handler.On(Submit, Future("bad"));
        t2.Handler.On(Retrieve, Status(400));
        var op2 = await t2.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => op2.Result.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(400, ex.Status);
        Assert.Equal(4, t2.Handler.To("/retrieve_future").Count);
    }

    [Fact]
    public async Task Future_ConnectionFailureBacksOffExponentially()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Future("req-1"));
        t.Handler.On(Retrieve, ConnectionFailure(), ConnectionFailure(), Json(200, Output));

        var op = await t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromSeconds(1));
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromSeconds(2));

        await op.Result.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, t.Handler.To("/retrieve_future").Count);
    }

    [Fact]
    public async Task Future_PollTimesOutAfter45SecondsThenBacksOff()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Future("req-1"));
        t.Handler.On(Retrieve, Hang(), Json(200, Output));

        var op = await t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        await t.Handler.WaitForCountAsync("/retrieve_future", 1);
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromSeconds(45));
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromSeconds(1));

        await op.Result.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, t.Handler.To("/retrieve_future").Count);
    }

    [Fact]
    public async Task Future_PausedQueueStateIsLoggedWithDefaultReason()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Future("req-1"));
        t.Handler.On(
            Retrieve,
            TryAgain("req-1", "paused_rate_limit"),
            TryAgain("req-1", "paused_rate_limit"),
            Json(408, """{"queue_state":"paused_capacity","queue_state_reason":"maintenance"}"""),
            Json(200, Output));

        var op = await t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        await op.Result.WaitAsync(TimeSpan.FromSeconds(10));

        var modelId = HttpTestContext.ForwardBackwardRequest().ModelId;
        var warning = Assert.Single(t.Logs.Warnings);
        Assert.Equal($"Training for {modelId} is paused. Reason: concurrent training clients rate limit hit", warning);
    }
}
