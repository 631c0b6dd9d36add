using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Cookbook.Tests.Checkpoints;
using TinkerFlow.Cookbook.Tests.Fakes;
using TinkerFlow.Cookbook.Tests.Rl;
using TinkerFlow.Cookbook.Trainers;
using TinkerFlow.Dataflow;
using TinkerFlow.Dataflow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Trainers;

public sealed class DistillationTrainerTests
{
    private const int GroupsPerBatch = 3;

    /// <summary>The student's group for prompt <paramref name="item"/>: two completions, reward 0 (distillation has none). Sampler logprob of token t is −t/100.</summary>
    private static TrajectoryGroup Group(int item) => new(
    [
        new Trajectory([new Transition(ModelInput.FromInts([1, 2, item]), RlTestData.Action(5 + (item % 3), 6), Reward: 0, EpisodeDone: true) { Metrics = new Dictionary<string, double> { ["correct"] = item % 2 } }]),
        new Trajectory([new Transition(ModelInput.FromInts([1, 2, item]), RlTestData.Action(7), Reward: 0, EpisodeDone: true) { Metrics = new Dictionary<string, double> { ["correct"] = 0 } }]),
    ]);

    /// <summary>A teacher that gives token t the logprob −t/50, so d_t = log q − log p = t/100 on every sampled token.</summary>
    private static FakeSamplingClient Teacher(Func<ModelInput, Exception?>? fail = null) => new()
    {
        Score = sequence => fail?.Invoke(sequence) is { } ex ? throw ex : [null, .. sequence.ToInts().Skip(1).Select(t => (double?)(-t / 50.0))],
    };

    private static RlTrainer<int> Create(TrainerRun run, SamplingClient sampler, SamplingClient teacher, string logPath, int maxSteps, List<string> items, CancellationToken cancellationToken = default) =>
        DistillationTrainer.Create<int>(
            run,
            sampler,
            new KlReference("teacher", teacher),
            step => [.. Enumerable.Range(0, GroupsPerBatch).Select(i => (step * 10) + i)],
            async (_, item, step, index, ct) =>
            {
                await Task.Yield();
                ct.ThrowIfCancellationRequested();
                lock (items)
                {
                    items.Add($"{step}:{index}:{item}");
                }

                return Group(item);
            },
            new RlTrainerOptions
            {
                LogPath = logPath,
                MaxSteps = maxSteps,
                GroupsPerBatch = GroupsPerBatch,
                LearningRate = new LrSchedule(LrScheduleKind.Constant, 1e-4, maxSteps),
                Checkpoints = new CheckpointOptions { SaveEvery = 2 },
                CancellationToken = cancellationToken,
            });

    /// <summary>Runs from the log's last checkpoint (or fresh) to <paramref name="maxSteps"/>: the prompts sampled, each forward_backward's advantages, and the records.</summary>
    private static async Task<(List<string> Items, List<string> Advantages, List<MetricRecord> Records)> RunAsync(string logPath, int maxSteps)
    {
        var fake = new FakeBackend();
        await using var service = new ServiceClient(fake);
        var client = await service.CreateLoraTrainingClientAsync("fake/base", rank: 8);
        var resumed = CheckpointLog.GetLastCheckpoint(logPath);
        var run = new TrainerRun(client, resumed?.LoopState ?? LoopState.Start, resumed);
        var items = new List<string>();
        var trainer = Create(run, await client.SaveWeightsAndGetSamplingClientAsync(), Teacher(), logPath, maxSteps, items);
        var records = new List<MetricRecord>();
        using var sub = trainer.Metrics.Subscribe(records.Add);
        await trainer.RunAsync();
        items.Sort(StringComparer.Ordinal);
        var advantages = fake.RequestsOf<ForwardBackwardRequest>()
            .Select(r => string.Join("|", r.ForwardBackwardInput.Data.Select(d => string.Join(",", d.LossFnInputs["advantages"].ToFloat32Array().Select(a => a.ToString("R", System.Globalization.CultureInfo.InvariantCulture))))))
            .ToList();
        return (items, advantages, records);
    }

    [Fact]
    public async Task DistillationTrainer_ResumedRun_ContinuesWithTheSameDataOrderAndMetrics()
    {
        using var straightLog = new TempLogDirectory();
        using var interruptedLog = new TempLogDirectory();

        var (straight, straightAdvantages, straightRecords) = await RunAsync(straightLog.Path, 6);
        var (before, beforeAdvantages, beforeRecords) = await RunAsync(interruptedLog.Path, 3);
        var (after, afterAdvantages, afterRecords) = await RunAsync(interruptedLog.Path, 6);

        Assert.Equal(3, afterRecords[0].Step); // resumed from the first run's final checkpoint
        Assert.Equal(straight, [.. before, .. after]);
        Assert.Equal(straightAdvantages, [.. beforeAdvantages, .. afterAdvantages]);
        var resumed = beforeRecords.Concat(afterRecords).ToList();
        Assert.Equal(straightRecords.Select(r => r.Step), resumed.Select(r => r.Step));
        foreach (var key in new[] { DistillationTrainer.TeacherKl, "env/all/correct", MetricNames.TrainNumDatums, MetricNames.OptimLr, RlMetricNames.Entropy })
        {
            Assert.Equal(straightRecords.Select(r => r.Get(key)), resumed.Select(r => r.Get(key)));
        }

        // Step 0's prompts 0, 1, 2 sample tokens {5,6 | 7}, {6,6 | 7}, {7,6 | 7}: teacher_kl = mean(t)/100 over them, and
        // no group is dropped although every reward is 0.
        Assert.Equal(57 / 9.0 / 100, straightRecords[0].Get(DistillationTrainer.TeacherKl)!.Value, 1e-6);
        Assert.Equal(2 * GroupsPerBatch, straightRecords[0].Get(MetricNames.TrainNumDatums));
    }

    [Fact]
    public async Task DistillationTrainer_TeacherFault_FailsTheRunAndTheMetricStream()
    {
        using var log = new TempLogDirectory();
        var fake = new FakeBackend();
        await using var service = new ServiceClient(fake);
        var client = await service.CreateLoraTrainingClientAsync("fake/base", rank: 8);
        var teacher = Teacher(sequence => sequence.ToInts()[2] >= 20 ? new InvalidDataException("teacher down") : null); // step 2's prompts
        var trainer = Create(new TrainerRun(client, LoopState.Start, null), await client.SaveWeightsAndGetSamplingClientAsync(), teacher, log.Path, 10, []);
        Exception? streamError = null;
        var records = new List<MetricRecord>();
        using var sub = trainer.Metrics.Subscribe(records.Add, e => streamError = e);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(trainer.RunAsync);

        Assert.Equal("teacher down", ex.Message);
        Assert.IsType<InvalidDataException>(streamError);
        Assert.Equal([0L, 1], records.Select(r => r.Step));
        Assert.Equal(2, fake.Count("optim"));
    }

    [Fact]
    public async Task DistillationTrainer_Cancellation_StopsTheRunBeforeItsLastStep()
    {
        using var log = new TempLogDirectory();
        var fake = new FakeBackend();
        await using var service = new ServiceClient(fake);
        var client = await service.CreateLoraTrainingClientAsync("fake/base", rank: 8);
        using var cts = new CancellationTokenSource();
        var records = new List<MetricRecord>();
        var trainer = Create(new TrainerRun(client, LoopState.Start, null), await client.SaveWeightsAndGetSamplingClientAsync(), Teacher(), log.Path, 10, [], cts.Token);
        Exception? streamError = null;
        using var sub = trainer.Metrics.Subscribe(
            r =>
            {
                records.Add(r);
                if (r.Step == 1)
                {
                    cts.Cancel();
                }
            },
            e => streamError = e);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(trainer.RunAsync);

        Assert.IsAssignableFrom<OperationCanceledException>(streamError);
        Assert.InRange(fake.Count("optim"), 2, 3);
        Assert.DoesNotContain(CheckpointLog.ReadRecords(log.Path), r => r.Final);
    }
}
