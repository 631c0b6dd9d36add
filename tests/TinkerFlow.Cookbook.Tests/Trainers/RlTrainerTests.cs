using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Cookbook.Tests.Checkpoints;
using TinkerFlow.Cookbook.Tests.Rl;
using TinkerFlow.Cookbook.Trainers;
using TinkerFlow.Dataflow;
using TinkerFlow.Dataflow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Trainers;

public sealed class RlTrainerTests
{
    /// <summary>A group for item <paramref name="item"/>: two one-turn answers whose rewards differ, so it is trained.</summary>
    private static TrajectoryGroup Group(int item) => new(
    [
        new Trajectory([new Transition(ModelInput.FromInts([1, 2, item]), RlTestData.Action(5, 6), Reward: item % 3, EpisodeDone: true)]),
        new Trajectory([new Transition(ModelInput.FromInts([1, 2, item]), RlTestData.Action(7), Reward: 0.5, EpisodeDone: true)]),
    ]);

    private static async Task<(List<string> Items, List<MetricRecord> Records)> RunAsync(string logPath, int maxSteps, int maxStaleness)
    {
        var fake = new FakeBackend();
        await using var service = new ServiceClient(fake);
        var client = await service.CreateLoraTrainingClientAsync("fake/base", rank: 8);
        var resumed = CheckpointLog.GetLastCheckpoint(logPath);
        var run = new TrainerRun(client, resumed?.LoopState ?? LoopState.Start, resumed);
        var items = new List<string>();
        var trainer = new RlTrainer<int>(
            run,
            await client.SaveWeightsAndGetSamplingClientAsync(),
            step => [.. Enumerable.Range(0, 3).Select(i => (step * 10) + i)],
            (_, item, step, index, _) =>
            {
                lock (items)
                {
                    items.Add($"{step}:{index}:{item}");
                }

                return Task.FromResult(Group(item));
            },
            new RlTrainerOptions
            {
                LogPath = logPath,
                MaxSteps = maxSteps,
                GroupsPerBatch = 3,
                MaxStaleness = maxStaleness,
                LearningRate = new LrSchedule(LrScheduleKind.Constant, 1e-4, maxSteps),
                Evaluations = [new SamplerEvaluation("optim steps", (_, _) => Task.FromResult<IReadOnlyDictionary<string, double>>(new Dictionary<string, double> { ["test/optim_steps"] = fake.Count("optim") }))],
                EvalEvery = 2,
                Checkpoints = new CheckpointOptions { SaveEvery = 2 },
            });
        var records = new List<MetricRecord>();
        using var sub = trainer.Metrics.Subscribe(records.Add);
        await trainer.RunAsync();
        items.Sort(StringComparer.Ordinal);
        return (items, records);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task RlTrainer_ResumedRun_ContinuesWithTheSameItemsAndMetrics(int maxStaleness)
    {
        using var straightLog = new TempLogDirectory();
        using var interruptedLog = new TempLogDirectory();

        var (straight, straightRecords) = await RunAsync(straightLog.Path, 6, maxStaleness);
        var (before, beforeRecords) = await RunAsync(interruptedLog.Path, 3, maxStaleness);
        var (after, afterRecords) = await RunAsync(interruptedLog.Path, 6, maxStaleness);

        Assert.Equal(straight, [.. before, .. after]);
        var resumed = beforeRecords.Where(r => r.Step < 3).Concat(afterRecords).ToList();
        Assert.Equal(straightRecords.Select(r => r.Step), resumed.Select(r => r.Step));
        foreach (var key in new[] { "env/all/reward/total", "env/all/by_group/frac_mixed", MetricNames.TrainNumDatums, MetricNames.OptimLr })
        {
            Assert.Equal(straightRecords.Take(6).Select(r => r.Get(key)), resumed.Take(6).Select(r => r.Get(key)));
        }
    }

    [Fact]
    public async Task RlTrainer_EvaluationsSeeExactlyTheirStepsAppliedAndStalenessStaysBounded()
    {
        using var log = new TempLogDirectory();

        var (_, records) = await RunAsync(log.Path, 5, maxStaleness: 1);

        var evaluated = records.Where(r => r.Metrics.ContainsKey("test/optim_steps")).ToList();
        Assert.Equal([0L, 2, 4, 5], evaluated.Select(r => r.Step));
        Assert.All(evaluated, r => Assert.Equal(r.Step, r.Metrics["test/optim_steps"]));
        Assert.All(records.Take(5), r => Assert.InRange(r.Metrics[MetricNames.RlStalenessMax], 0, 1));
        Assert.Contains(CheckpointLog.ReadRecords(log.Path), r => r.Final && r.Step == 5);
    }
}
