using Microsoft.Extensions.Time.Testing;
using TinkerFlow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Clients;

public sealed class ServiceAndRestClientTests
{
    [Fact]
    public async Task Heartbeat_IsSentEveryIntervalAfterTheSessionOpens()
    {
        var backend = new FakeBackend();
        var time = new FakeTimeProvider();
        await using var service = new ServiceClient(new TinkerClientOptions { Backend = backend, TimeProvider = time });
        await service.CreateLoraTrainingClientAsync("fake/base");

        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            for (var spin = 0; spin < 200 && backend.Heartbeats <= i; spin++)
            {
                await Task.Yield();
                await Task.Delay(1);
            }
        }

        Assert.Equal(3, backend.Heartbeats);
    }

    [Fact]
    public async Task Session_IsOpenedOnceAndLazily()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);

        await service.GetServerCapabilitiesAsync();
        Assert.Empty(backend.RequestsOf<CreateSessionRequest>());
        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => service.CreateLoraTrainingClientAsync("fake/base")));

        Assert.Single(backend.RequestsOf<CreateSessionRequest>());
        Assert.Equal([0, 1, 2, 3, 4], backend.RequestsOf<CreateModelRequest>().Select(r => r.ModelSeqId).Order());
    }

    [Fact]
    public void Options_FreezeOnceAClientIsBuilt()
    {
        var options = new TinkerClientOptions { Backend = new FakeBackend() };
        _ = new ServiceClient(options);

        var ex = Assert.Throws<InvalidOperationException>(() => options.ChunkMaxDatums = 5);
        Assert.Contains("Clone()", ex.Message);
        Assert.Throws<InvalidOperationException>(() => options.Retry.MaxRetries = 1);
        var copy = options.Clone();
        copy.ChunkMaxDatums = 5;
        Assert.Equal(5, copy.ChunkMaxDatums);
    }

    [Fact]
    public void ServiceClient_WithoutAnyBackendExplainsHowToGetOne()
    {
        // TinkerFlow.Local is not referenced by this test project, so there is no embedded engine to find.
        var ex = Assert.Throws<InvalidOperationException>(() => new ServiceClient(new TinkerClientOptions { BaseUrl = null }));

        Assert.Contains("TinkerFlow.Local", ex.Message);
        Assert.Contains("TINKER_BASE_URL", ex.Message);
    }

    [Fact]
    public async Task RestClient_TinkerPathOperationsSplitRunAndCheckpointId()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var rest = service.CreateRestClient();

        await rest.PublishCheckpointFromTinkerPathAsync("tinker://run-1/weights/step-2");
        await rest.UnpublishCheckpointFromTinkerPathAsync("tinker://run-1/sampler_weights/s");
        await rest.SetCheckpointTtlFromTinkerPathAsync("tinker://run-1/weights/step-2", 3600);
        await rest.DeleteCheckpointFromTinkerPathAsync("tinker://run-1/weights/step-2");
        await rest.GetCheckpointArchiveUrlFromTinkerPathAsync("tinker://run-1/weights/step-2");
        await rest.GetTrainingRunByTinkerPathAsync("tinker://run-1/weights/step-2");

        Assert.Equal(
            [("publish", "run-1", "weights/step-2", null), ("unpublish", "run-1", "sampler_weights/s", null), ("ttl", "run-1", "weights/step-2", 3600L),
             ("delete", "run-1", "weights/step-2", null), ("archive", "run-1", "weights/step-2", null), ("get_run", "run-1", "Owned", null)],
            backend.RestCalls.Select(c => (c.Op, c.RunId, c.CheckpointId, c.Ttl)));
    }

    [Fact]
    public async Task RestClient_RejectsBadCheckpointIdsAndTtl()
    {
        await using var service = new ServiceClient(new FakeBackend());
        var rest = service.CreateRestClient();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => rest.DeleteCheckpointAsync("run-1", "checkpoints/x"));
        Assert.Contains("weights/<name>", ex.Message);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => rest.SetCheckpointTtlFromTinkerPathAsync("tinker://run-1/weights/a", -5));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => rest.ListUserCheckpointsAsync(limit: 0));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => rest.PublishCheckpointFromTinkerPathAsync("s3://bucket/x"));
    }

    [Fact]
    public async Task RestClient_ListAllUserCheckpointsFollowsTheCursor()
    {
        var backend = new FakeBackend();
        for (var i = 0; i < 7; i++)
        {
            backend.UserCheckpoints.Add(new Checkpoint
            {
                CheckpointId = $"weights/c{i}",
                CheckpointType = CheckpointType.Training,
                Time = DateTimeOffset.UnixEpoch.AddMinutes(i),
                TinkerPath = $"tinker://run/weights/c{i}",
            });
        }

        await using var service = new ServiceClient(backend);
        var all = new List<Checkpoint>();
        await foreach (var c in service.CreateRestClient().ListAllUserCheckpointsAsync(pageSize: 3))
        {
            all.Add(c);
        }

        Assert.Equal(7, all.Count);
        Assert.Equal(["3/0", "3/3", "3/6"], backend.RestCalls.Where(c => c.Op == "list_user_checkpoints").Select(c => c.CheckpointId));
    }
}
