using TinkerFlow.Types;
using static TinkerFlow.Tests.Http.ScriptedHandler;

namespace TinkerFlow.Tests.Http;

public class HttpBackendRetryTests
{
    private const string Submit = "POST /api/v1/forward_backward";
    private static readonly string Output = HttpTestContext.Golden("forward_backward_output.json");

    [Fact]
    public async Task ForwardBackward_RetriesOn503()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Json(503, """{"detail":"overloaded"}""", ("Retry-After", "3")), Future("req-1"));
        t.Handler.On("POST /api/v1/retrieve_future", Json(200, Output));

        var submit = t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        await t.Time.WaitForTimerAsync(TimeSpan.FromSeconds(3));
        Assert.Single(t.Handler.To("/forward_backward"));
        Assert.False(submit.IsCompleted);
        t.Time.Advance(TimeSpan.FromSeconds(3));
        var op = await submit.WaitAsync(TimeSpan.FromSeconds(10));
        await op.Result.WaitAsync(TimeSpan.FromSeconds(10));

        var submits = t.Handler.To("/forward_backward");
        Assert.Equal(2, submits.Count);
        Assert.Equal(submits[0].Header("X-Idempotency-Key"), submits[1].Header("X-Idempotency-Key"));
        Assert.Equal(submits[0].Body, submits[1].Body);
        Assert.Equal(["0", "1"], submits.Select(s => s.Header("X-Stainless-Retry-Count")));
    }

    [Theory]
    [InlineData("retry-after-ms", "1500", 1500)]
    [InlineData("retry-after", "2.5", 2500)]
    [InlineData("retry-after", "Thu, 01 Jan 2026 00:00:07 GMT", 7000)]
    [InlineData("retry-after", "120", 500)] // above 60 s: ignored, back-off Delay·2^0 = 0.5 s
    [InlineData("retry-after", "0", 500)]
    public async Task LowLevelRetry_HonoursRetryAfterUpTo60Seconds(string header, string value, int expectedMs)
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Json(429, """{"detail":"slow down"}""", (header, value)), Future("req-1"));
        t.Handler.On("POST /api/v1/retrieve_future", Json(200, Output));

        var submit = t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromMilliseconds(expectedMs));

        await submit.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, t.Handler.To("/forward_backward").Count);
    }

    [Fact]
    public async Task LowLevelRetry_BackOffDoublesUpToMaxDelay()
    {
        await using var t = new HttpTestContext(o =>
        {
            o.Retry.MaxRetries = 5;
            o.Retry.MaxDelay = TimeSpan.FromSeconds(3);
            o.Retry.TotalTimeout = TimeSpan.Zero;
        });
        t.Handler.On(Submit, Status(500), Status(500), Status(500), Status(500), Future("req-1"));
        t.Handler.On("POST /api/v1/retrieve_future", Json(200, Output));

        var submit = t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        foreach (var ms in new[] { 500, 1000, 2000, 3000 })
        {
            await t.Time.WaitThenAdvanceAsync(TimeSpan.FromMilliseconds(ms));
        }

        await submit.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(5, t.Handler.To("/forward_backward").Count);
    }

    [Fact]
    public async Task LowLevelRetry_ShouldRetryHeaderOverridesTheStatus()
    {
        await using var t = new HttpTestContext(o => o.Retry.TotalTimeout = TimeSpan.Zero);
        t.Handler.On(Submit, Json(503, """{"detail":"do not retry"}""", ("x-should-retry", "false")));

        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest()));

        Assert.Equal(503, ex.Status);
        Assert.Single(t.Handler.To("/forward_backward"));
    }

    [Fact]
    public async Task Retries_ExhaustedMessageNamesTinkerClientOptionsRetry()
    {
        await using var t = new HttpTestContext(o =>
        {
            o.Retry.MaxRetries = 2;
            o.Retry.TotalTimeout = TimeSpan.Zero;
        });
        t.Handler.On(Submit, Json(503, """{"detail":"overloaded"}"""));

        var submit = t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromMilliseconds(500));
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromMilliseconds(1000));
        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => submit.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(503, ex.Status);
        Assert.Equal(RequestErrorCategory.Server, ex.Category);
        Assert.True(ex.IsTransient);
        Assert.Contains("overloaded", ex.Message);
        Assert.Contains("TinkerClientOptions.Retry", ex.Message);
        Assert.Contains("3 attempt(s)", ex.Message);
        Assert.Equal(3, t.Handler.To("/forward_backward").Count);
    }

    [Fact]
    public async Task OuterRetries_StopAfterTotalTimeoutWithANewIdempotencyKeyPerAttempt()
    {
        await using var t = new HttpTestContext(o =>
        {
            o.Retry.MaxRetries = 0;
            o.Retry.TotalTimeout = TimeSpan.FromSeconds(5);
        });
        t.Handler.On(Submit, Json(502, """{"detail":"bad gateway"}"""));

        var submit = t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromSeconds(1));
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromSeconds(2));
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromSeconds(4));
        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => submit.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(502, ex.Status);
        Assert.Contains("TinkerClientOptions.Retry.TotalTimeout", ex.Message);
        var submits = t.Handler.To("/forward_backward");
        Assert.Equal(4, submits.Count);
        Assert.Equal(4, submits.Select(s => s.Header("X-Idempotency-Key")).Distinct().Count());
    }

    [Fact]
    public async Task Submit_ConnectionFailureIsRetriedByLayerA()
    {
        await using var t = new HttpTestContext(o => o.Retry.TotalTimeout = TimeSpan.Zero);
        t.Handler.On(Submit, ConnectionFailure(), Future("req-1"));
        t.Handler.On("POST /api/v1/retrieve_future", Json(200, Output));

        var submit = t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest());
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromMilliseconds(500));

        var op = await submit.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("req-1", op.RequestId);
    }

    [Fact]
    public async Task Submit_4xxFailsAtOnceWithTheServerMessageAndCategoryUser()
    {
        await using var t = new HttpTestContext();
        t.Handler.On(Submit, Json(422, """{"detail":[{"loc":["body","seq_id"],"msg":"field required"}]}"""));

        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => t.Backend.ForwardBackwardAsync(HttpTestContext.ForwardBackwardRequest()));

        Assert.Equal(422, ex.Status);
        Assert.Equal(RequestErrorCategory.User, ex.Category);
        Assert.Contains("field required", ex.Message);
        Assert.Contains("fix the arguments", ex.Message);
        Assert.Single(t.Handler.To("/forward_backward"));
    }

    [Fact]
    public async Task SaveWeights_ConflictIsNotRetried()
    {
        await using var t = new HttpTestContext();
        t.Handler.On("POST /api/v1/save_weights", Json(409, """{"error":"checkpoint 'dup' exists; pass overwrite"}"""));

        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => t.Backend.SaveWeightsAsync(
            TinkerJson.Deserialize<SaveWeightsRequest>(HttpTestContext.Golden("save_weights_request.json"))));

        Assert.Equal(409, ex.Status);
        Assert.Contains("overwrite", ex.Message);
        Assert.Single(t.Handler.To("/save_weights"));
    }

    [Fact]
    public async Task CreateModel_HasNoOuterRetries()
    {
        await using var t = new HttpTestContext(o => o.Retry.MaxRetries = 1);
        t.Handler.On("POST /api/v1/create_model", Status(500));

        var submit = t.Backend.CreateModelAsync(TinkerJson.Deserialize<CreateModelRequest>(HttpTestContext.Golden("create_model_request.json")));
        await t.Time.WaitThenAdvanceAsync(TimeSpan.FromMilliseconds(500));
        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => submit.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(500, ex.Status);
        Assert.Equal(2, t.Handler.To("/create_model").Count);
    }
}
