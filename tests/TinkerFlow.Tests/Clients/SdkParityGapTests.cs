using TinkerFlow.Tests.Fakes;
using TinkerFlow.Tests.Http;
using TinkerFlow.Types;
using static TinkerFlow.Tests.Http.ScriptedHandler;

namespace TinkerFlow.Tests.Clients;

/// <summary>The Python SDK's API that TinkerFlow lacked: logits:// paths, access scopes, checkpoint id forms, new fields and overloads.</summary>
public sealed class SdkParityGapTests
{
    private const string Run = "sess-1:train:0";

    [Fact]
    public void LogitsPath_ParsesLikeATinkerPathAndKeepsItsScheme()
    {
        var parsed = ParsedCheckpointTinkerPath.FromTinkerPath($"logits://{Run}/sampler_weights/final");

        Assert.Equal(Run, parsed.TrainingRunId);
        Assert.Equal(CheckpointType.Sampler, parsed.CheckpointType);
        Assert.Equal("sampler_weights/final", parsed.CheckpointId);
        Assert.Equal($"logits://{Run}/sampler_weights/final", parsed.TinkerPath);
        Assert.Equal($"logits://{Run}/weights/s", new LoadWeightsRequest { ModelId = Run, Path = $"logits://{Run}/weights/s", SeqId = 1 }.Path);
        Assert.Throws<ArgumentException>(() => ParsedCheckpointTinkerPath.FromTinkerPath($"s3://{Run}/weights/s"));
    }

    [Fact]
    public async Task LogitsPath_IsAcceptedWhereverTinkerPathsAre()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var rest = service.CreateRestClient();
        var training = await service.CreateLoraTrainingClientAsync("fake/base");

        await service.CreateSamplingClientAsync(modelPath: "logits://run-1/sampler_weights/s");
        await training.LoadStateAsync(WaitUntil.Completed, "logits://run-1/weights/step-2");
        await rest.PublishCheckpointFromTinkerPathAsync("logits://run-1/weights/step-2");
        await rest.GetTrainingRunByTinkerPathAsync("logits://run-1/weights/step-2");
        await rest.GetWeightsInfoByTinkerPathAsync("logits://run-1/weights/step-2");

        Assert.Equal("logits://run-1/sampler_weights/s", backend.RequestsOf<CreateSamplingSessionRequest>().Single().ModelPath);
        Assert.Equal("logits://run-1/weights/step-2", backend.RequestsOf<LoadWeightsRequest>().Single().Path);
        Assert.Equal([("publish", "run-1", "weights/step-2"), ("get_run", "run-1", "Owned")], backend.RestCalls.Select(c => (c.Op, c.RunId, c.CheckpointId)));
        Assert.Equal("logits://run-1/weights/step-2", backend.RequestsOf<WeightsInfoRequest>().Single().TinkerPath);
    }

    [Fact]
    public async Task AccessScope_DefaultsToOwnedAndIsSentOnSessionsAndRunByPath()
    {
        await using var t = new HttpTestContext();
        t.Handler.On("GET /api/v1/sessions", Json(200, HttpTestContext.Golden("list_sessions_response.json")));
        t.Handler.On("GET /api/v1/sessions/sess-1", Json(200, HttpTestContext.Golden("get_session_response.json")));
        t.Handler.On($"GET /api/v1/training_runs/{Run}", Json(200, HttpTestContext.Golden("training_run.json")));
        await using var service = new ServiceClient(t.Backend);
        var rest = service.CreateRestClient();

        await rest.ListSessionsAsync();
        await rest.ListSessionsAsync(accessScope: AccessScope.Accessible);
        await rest.GetSessionAsync("sess-1");
        await rest.GetSessionAsync("sess-1", AccessScope.Accessible);
        await rest.GetTrainingRunByTinkerPathAsync($"tinker://{Run}/weights/a");
        await rest.GetTrainingRunByTinkerPathAsync($"tinker://{Run}/weights/a", AccessScope.Accessible);

        Assert.Equal(
            [
                "GET /api/v1/sessions?limit=20&offset=0&access_scope=owned",
                "GET /api/v1/sessions?limit=20&offset=0&access_scope=accessible",
                "GET /api/v1/sessions/sess-1?access_scope=owned",
                "GET /api/v1/sessions/sess-1?access_scope=accessible",
                $"GET /api/v1/training_runs/{Run}?access_scope=owned",
                $"GET /api/v1/training_runs/{Run}?access_scope=accessible",
            ],
            t.Handler.Requests.Where(r => r.Line.StartsWith("GET", StringComparison.Ordinal)).Select(r => r.Line));
    }

    [Theory]
    [InlineData("weights/step-2")]
    [InlineData("weights%2Fstep-2")]
    [InlineData("tinker://run-1/weights/step-2")]
    [InlineData("logits://run-1/weights/step-2")]
    public async Task CheckpointId_IsAcceptedInEveryFormTheServiceReturns(string checkpointId)
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var rest = service.CreateRestClient();

        await rest.DeleteCheckpointAsync("run-1", checkpointId);
        await rest.GetCheckpointArchiveUrlAsync("run-1", checkpointId);
        await rest.PublishCheckpointAsync("run-1", checkpointId);
        await rest.UnpublishCheckpointAsync("run-1", checkpointId);

        Assert.Equal(
            [("delete", "run-1", "weights/step-2"), ("archive", "run-1", "weights/step-2"), ("publish", "run-1", "weights/step-2"), ("unpublish", "run-1", "weights/step-2")],
            backend.RestCalls.Select(c => (c.Op, c.RunId, c.CheckpointId)));
    }

    [Fact]
    public async Task CheckpointId_OfAnotherRunOrUnknownKindIsRejected()
    {
        await using var service = new ServiceClient(new FakeBackend());
        var rest = service.CreateRestClient();

        var other = await Assert.ThrowsAsync<ArgumentException>(() => rest.PublishCheckpointAsync("run-1", "tinker://run-2/weights/a"));
        Assert.Contains("run-2", other.Message);
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => rest.UnpublishCheckpointAsync("run-1", "a"));
        Assert.Contains("weights/<name>", bad.Message);
    }

    [Fact]
    public async Task PublishAndUnpublishByIds_HitTheCheckpointRoutes()
    {
        await using var t = new HttpTestContext();
        t.Handler.On($"POST /api/v1/training_runs/{Run}/checkpoints/sampler_weights/s-1/publish", Status(200));
        t.Handler.On($"DELETE /api/v1/training_runs/{Run}/checkpoints/sampler_weights/s-1/publish", Status(200));
        await using var service = new ServiceClient(t.Backend);
        var rest = service.CreateRestClient();

        await rest.PublishCheckpointAsync(Run, "sampler_weights/s-1");
        await rest.UnpublishCheckpointAsync(Run, $"tinker://{Run}/sampler_weights/s-1");

        Assert.Equal(
            [$"POST /api/v1/training_runs/{Run}/checkpoints/sampler_weights/s-1/publish", $"DELETE /api/v1/training_runs/{Run}/checkpoints/sampler_weights/s-1/publish"],
            t.Handler.Requests.Where(r => r.Uri.AbsolutePath.EndsWith("/publish", StringComparison.Ordinal)).Select(r => r.Line));
    }

    [Fact]
    public void Checkpoint_ReadsTrainingRunIdAndArchiveUrlWithoutExpires()
    {
        var checkpoint = TinkerJson.Deserialize<Checkpoint>(HttpTestContext.Golden("checkpoint_with_training_run_id.json"));
        Assert.Equal("run-1", checkpoint.TrainingRunId);
        Assert.Null(TinkerJson.Deserialize<Checkpoint>(HttpTestContext.Golden("checkpoint.json")).TrainingRunId);

        var archive = TinkerJson.Deserialize<CheckpointArchiveUrlResponse>(HttpTestContext.Golden("checkpoint_archive_url_response_no_expires.json"));
        Assert.Null(archive.Expires);
        Assert.DoesNotContain("expires", TinkerJson.Serialize(archive), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SaveWeightsAndGetSamplingClient_WithANameSavesNamedWeightsAndSamplesThem()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var training = await service.CreateLoraTrainingClientAsync("fake/base");

        var sampler = await training.SaveWeightsAndGetSamplingClientAsync("final");

        var save = backend.RequestsOf<SaveWeightsForSamplerRequest>().Single();
        Assert.Equal("final", save.Path);
        var session = backend.RequestsOf<CreateSamplingSessionRequest>().Single();
        Assert.Equal($"tinker://{training.ModelId}/sampler_weights/final", session.ModelPath);
        Assert.Equal($"{session.SessionId}:sample:{session.SamplingSessionSeqId}", sampler.SamplingSessionId);
    }

    [Fact]
    public async Task TrainingClient_CreateSamplingClientUsesTheModelPath()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var training = await service.CreateLoraTrainingClientAsync("fake/base");

        await training.CreateSamplingClientAsync("tinker://run-1/sampler_weights/s");

        Assert.Equal("tinker://run-1/sampler_weights/s", backend.RequestsOf<CreateSamplingSessionRequest>().Single().ModelPath);
        await Assert.ThrowsAsync<ArgumentException>(() => training.CreateSamplingClientAsync("run-1/sampler_weights/s"));
    }

    [Fact]
    public async Task CreateLoraTrainingClient_AcceptsALoraConfig()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var config = new LoraConfig { Rank = 4, Seed = 7, TrainMlp = false, TrainAttn = true, TrainUnembed = false };

        var training = await service.CreateLoraTrainingClientAsync("fake/base", config);

        Assert.Equal("fake/base", training.BaseModel);
        Assert.Equal(config, backend.RequestsOf<CreateModelRequest>().Single().LoraConfig);
    }
}
