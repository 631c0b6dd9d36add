using TinkerFlow.Types;
using static TinkerFlow.Tests.Http.ScriptedHandler;

namespace TinkerFlow.Tests.Http;

public class HttpBackendSamplingTests
{
    private static SampleRequest Request() => TinkerJson.Deserialize<SampleRequest>(HttpTestContext.Golden("sample_request.json"));

    [Fact]
    public async Task Sample_429IsBackpressureThatWaitsAndResendsTheSameRequest()
    {
        await using var t = new HttpTestContext(o => o.Retry.TotalTimeout = TimeSpan.Zero);
        t.Handler.On("POST /api/v1/asample", Json(429, """{"detail":"too many samples"}"""), Future("s-1"));
        t.Handler.On("POST /api/v1/retrieve_future", Json(200, HttpTestContext.Golden("sample_response.json")));

        var submit = t.Backend.SampleAsync(Request());
        await t.Time.WaitForTimerAsync(TimeSpan.FromSeconds(1));
        Assert.Single(t.Handler.To("/asample"));
        Assert.False(submit.IsCompleted);
        Assert.True(t.Backend.Sampling.IsThrottled);
        t.Time.Advance(TimeSpan.FromSeconds(1));

        var op = await submit.WaitAsync(TimeSpan.FromSeconds(10));
        var result = await op.Result.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("s-1", op.RequestId);
        Assert.NotEmpty(result.Sequences);
        var sends = t.Handler.To("/asample");
        Assert.Equal(2, sends.Count);
        Assert.Equal(sends[0].Body, sends[1].Body);
        Assert.All(sends, s => Assert.Equal("1", s.Header("X-Tinker-Sampling-Backpressure")));

        // Throttling lasts 10 s after the 429.
        t.Time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(t.Backend.Sampling.IsThrottled);
    }

    [Fact]
    public async Task Sample_HasNoLowLevelRetries()
    {
        await using var t = new HttpTestContext(o => o.Retry.TotalTimeout = TimeSpan.Zero);
        t.Handler.On("POST /api/v1/asample", Json(503, """{"detail":"down"}"""));

        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => t.Backend.SampleAsync(Request()));

        Assert.Equal(503, ex.Status);
        Assert.Single(t.Handler.To("/asample"));
    }

    [Fact]
    public async Task CreateSamplingSession_SendsTheGoldenBody()
    {
        await using var t = new HttpTestContext();
        t.Handler.On("POST /api/v1/create_sampling_session", Json(200, HttpTestContext.Golden("create_sampling_session_response.json")));
        var request = TinkerJson.Deserialize<CreateSamplingSessionRequest>(HttpTestContext.Golden("create_sampling_session_request.json"));

        await t.Backend.CreateSamplingSessionAsync(request);

        Tests.Types.JsonAssert.Equal(HttpTestContext.Golden("create_sampling_session_request.json"), t.Handler.To("/create_sampling_session").Single().Body!);
    }
}
