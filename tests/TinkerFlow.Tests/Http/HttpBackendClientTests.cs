using System.Text.Json;
using TinkerFlow.Tests.Clients;
using TinkerFlow.Types;
using static TinkerFlow.Tests.Http.ScriptedHandler;

namespace TinkerFlow.Tests.Http;

/// <summary>The high-level clients over the HTTP backend: the requests a training loop puts on the wire.</summary>
public class HttpBackendClientTests
{
    [Fact]
    public async Task TrainingClient_OverHttpSendsSessionModelAndSequencedRequests()
    {
        await using var t = new HttpTestContext();
        t.Handler.On("POST /api/v1/create_session", Json(200, """{"type":"create_session","session_id":"sess-x"}"""));
        t.Handler.On("POST /api/v1/create_model", Future("r-model"));
        t.Handler.On("POST /api/v1/forward_backward", Future("r-fb"));
        t.Handler.On("POST /api/v1/optim_step", Future("r-opt"));
        t.Handler.On(
            "POST /api/v1/retrieve_future",
            Json(200, """{"model_id":"sess-x:train:0","type":"create_model"}"""),
            Json(200, HttpTestContext.Golden("forward_backward_output.json")),
            Json(200, """{"metrics":{"lr:mean":0.0001}}"""));
        var options = t.Options.Clone();
        options.Backend = t.Backend;
        await using var service = new ServiceClient(options);

        var training = await service.CreateLoraTrainingClientAsync("fake/tiny-model", rank: 8);
        var fb = await training.ForwardBackwardAsync(WaitUntil.Completed, TestData.Batch(1), LossFnType.CrossEntropy);
        var step = await training.OptimStepAsync(WaitUntil.Completed, new AdamParams());

        Assert.Equal("sess-x:train:0", training.ModelId);
        Assert.Equal(4.5, fb.Value.Metrics["loss:sum"]);
        Assert.Equal(0.0001, step.Value.Metrics!["lr:mean"]);
        Assert.Equal(
            [
                "POST /api/v1/client/config",
                "POST /api/v1/create_session",
                "POST /api/v1/create_model",
                "POST /api/v1/retrieve_future",
                "POST /api/v1/forward_backward",
                "POST /api/v1/retrieve_future",
                "POST /api/v1/optim_step",
                "POST /api/v1/retrieve_future",
            ],
            t.Handler.Requests.Select(r => r.Line));
        var createModel = JsonDocument.Parse(t.Handler.To("/create_model")[0].Body!).RootElement;
        Assert.Equal("sess-x", createModel.GetProperty("session_id").GetString());
        Assert.Equal(0, createModel.GetProperty("model_seq_id").GetInt32());
        Assert.Equal(1, JsonDocument.Parse(t.Handler.To("/forward_backward")[0].Body!).RootElement.GetProperty("seq_id").GetInt32());
        Assert.Equal(2, JsonDocument.Parse(t.Handler.To("/optim_step")[0].Body!).RootElement.GetProperty("seq_id").GetInt32());
        Assert.Equal(
            ["CreateModel", "ForwardBackward", "OptimStep"],
            t.Handler.To("/retrieve_future").Select(r => r.Header("X-Tinker-Request-Type")));
    }
}
