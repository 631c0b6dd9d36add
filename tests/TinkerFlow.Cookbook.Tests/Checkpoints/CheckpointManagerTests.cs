using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Tests.Fakes;

namespace TinkerFlow.Cookbook.Tests.Checkpoints;

public class CheckpointManagerTests
{
    [Fact]
    public async Task CheckpointManager_WritesPeriodicRollingAndOneFinal()
    {
        using var log = new TempLogDirectory();
        var client = new FakeTrainingClient();
        var rest = new FakeRestClient();
        var manager = new CheckpointManager(client, log.Path, new CheckpointOptions { SaveEvery = 4, RollingSaveEvery = 2 }, rest);

        var state = LoopState.Start;
        for (var step = 0; step < 9; step++)
        {
            await manager.MaybeSaveAsync(state);
            state = state.Advance(batchesPerEpoch: 5);
        }

        await manager.SaveFinalAsync(state);
        var records = CheckpointLog.ReadRecords(log.Path);

        Assert.Equal(["rolling-000002", "000004", "rolling-000006", "000008", "final"], records.Select(r => r.Name));
        Assert.All(records.Where(r => r.Rolling == true), r => Assert.Null(r.SamplerPath));
        Assert.All(records.Where(r => r.Rolling != true), r => Assert.NotNull(r.SamplerPath));
        Assert.All(records, r => Assert.NotNull(r.StatePath));
        Assert.Single(records, r => r.Final);
        Assert.Equal((1, 3, 8), (records[3].Epoch, records[3].Batch, records[3].Step));
        Assert.Equal(["tinker://run-1/weights/rolling-000002"], rest.Deleted);
        Assert.Contains(("state", "rolling-000002", (long?)7200), client.Saves);
        Assert.Contains(("sampler", "000004", (long?)604_800), client.Saves);
        Assert.Contains(("state", "final", (long?)null), client.Saves);
        Assert.DoesNotContain(client.Saves, s => s.Kind == "sampler" && s.Name.StartsWith("rolling", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CheckpointManager_ResumedRun_DeletesRollingCheckpointOfEarlierRun()
    {
        using var log = new TempLogDirectory();
        var options = new CheckpointOptions { SaveEvery = 0, RollingSaveEvery = 1 };
        await new CheckpointManager(new FakeTrainingClient(), log.Path, options).MaybeSaveAsync(new LoopState(0, 1, 1));
        var rest = new FakeRestClient();

        await new CheckpointManager(new FakeTrainingClient(), log.Path, options, rest).MaybeSaveAsync(new LoopState(0, 2, 2));

        Assert.Equal(["tinker://run-1/weights/rolling-000001"], rest.Deleted);
    }

    [Fact]
    public void CheckpointOptions_TtlBelowApiMinimum_ThrowsWithHint()
    {
        var ex = Assert.Throws<ArgumentException>(() => new CheckpointManager(new FakeTrainingClient(), "/tmp/unused", new CheckpointOptions { RollingTtlSeconds = 600 }));

        Assert.Contains("3600", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckpointManager_KindDueAt_PrefersPeriodic()
    {
        var manager = new CheckpointManager(new FakeTrainingClient(), "/tmp/unused-" + Guid.NewGuid(), new CheckpointOptions { SaveEvery = 10, RollingSaveEvery = 5 });

        Assert.Null(manager.KindDueAt(0));
        Assert.Equal(CheckpointKind.Rolling, manager.KindDueAt(5));
        Assert.Equal(CheckpointKind.Periodic, manager.KindDueAt(10));
        Assert.Null(manager.KindDueAt(11));
    }
}
