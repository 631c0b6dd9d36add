using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Cookbook.Tests.Checkpoints;
using TinkerFlow.Cookbook.Tests.Fakes;
using TinkerFlow.Cookbook.Trainers;
using TinkerFlow.Dataflow;
using TinkerFlow.Dataflow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Trainers;

public sealed class SupervisedTrainerTests
{
    private static ConversationDataset Dataset()
    {
        var renderer = new Qwen3Renderer(FakeTokenizer.Qwen3());
        IReadOnlyList<IReadOnlyList<Message>> rows = [.. Enumerable.Range(0, 10).Select(i => (IReadOnlyList<Message>)[Message.User($"q{i}"), Message.Assistant(new string('a', 1 + (i % 3)))])];
        return new ConversationDataset(rows, batchSize: 4, m => DatumBuilder.ConversationToDatum(renderer, m));
    }

    /// <summary>Runs the trainer from the log's last checkpoint (or fresh) to <paramref name="maxSteps"/>; returns each step's datums (as token strings) and records.</summary>
    private static async Task<(List<string> Steps, List<MetricRecord> Records)> RunAsync(string logPath, int maxSteps, int evalEvery = 3)
    {
        var fake = new FakeBackend();
        await using var service = new ServiceClient(fake);
        var client = await service.CreateLoraTrainingClientAsync("fake/base", rank: 8);
        var resumed = CheckpointLog.GetLastCheckpoint(logPath);
        var run = new TrainerRun(client, resumed?.LoopState ?? LoopState.Start, resumed);
        var evaluation = new TrainerEvaluation("probe", (c, _) => Task.FromResult<IReadOnlyDictionary<string, double>>(new Dictionary<string, double> { ["test/optim_steps"] = fake.Count("optim") }));
        var trainer = new SupervisedTrainer(run, Dataset(), new SupervisedTrainerOptions
        {
            LogPath = logPath,
            MaxSteps = maxSteps,
            LearningRate = new LrSchedule(LrScheduleKind.Linear, 1e-3, 10),
            Batching = new DatumBatcherOptions { MaxItems = 3 }, // steps cut across the dataset's batches of 4
            SubmitAhead = 2,
            Evaluations = [evaluation],
            EvalEvery = evalEvery,
            Checkpoints = new CheckpointOptions { SaveEvery = 4 },
        });
        var records = new List<MetricRecord>();
        using var sub = trainer.Metrics.Subscribe(records.Add);
        await trainer.RunAsync();
        var steps = fake.RequestsOf<ForwardBackwardRequest>()
            .Select(r => string.Join("|", r.ForwardBackwardInput.Data.Select(d => string.Join(",", d.ModelInput.ToInts()))))
            .ToList();
        return (steps, records);
    }

    [Fact]
    public async Task SupervisedTrainer_ResumedRun_ContinuesWithTheSameDataOrderAndMetrics()
    {
        using var straightLog = new TempLogDirectory();
        using var interruptedLog = new TempLogDirectory();

        var (straight, straightRecords) = await RunAsync(straightLog.Path, 10);
        var (before, beforeRecords) = await RunAsync(interruptedLog.Path, 6);
        var (after, afterRecords) = await RunAsync(interruptedLog.Path, 10);

        Assert.Equal(straight, [.. before, .. after]);
        string[] keys = [MetricNames.Epoch, MetricNames.ProgressBatch, MetricNames.TrainNumTokens, MetricNames.TrainNumDatums, MetricNames.OptimLr];
        var resumed = beforeRecords.Where(r => r.Step < 6).Concat(afterRecords).ToList();
        Assert.Equal(straightRecords.Select(r => r.Step), resumed.Select(r => r.Step));
        for (var i = 0; i < straightRecords.Count - 1; i++)
        {
            foreach (var key in keys)
            {
                Assert.Equal(straightRecords[i].Get(key), resumed[i].Get(key));
            }
        }

        // The checkpoint at step 6 sits inside a dataset batch: 6 steps × 3 datums = 18 = 2 epochs of 8, then 2 datums of batch 0.
        var final6 = CheckpointLog.ReadRecords(interruptedLog.Path).First(r => r.Final && r.Step == 6);
        Assert.Equal((2, 0, 2), (final6.Epoch, final6.Batch, final6.Item ?? 0));
    }

    [Fact]
    public async Task SupervisedTrainer_EvaluationsSeeExactlyTheirStepsAppliedAndRunAfterTheLastStep()
    {
        using var log = new TempLogDirectory();

        var (_, records) = await RunAsync(log.Path, 7, evalEvery: 3);

        Assert.Equal([0.0, 3, 6, 7], records.Where(r => r.Metrics.ContainsKey("test/optim_steps")).Select(r => r.Step * 1.0));
        Assert.All(records.Where(r => r.Metrics.ContainsKey("test/optim_steps")), r => Assert.Equal(r.Step, r.Metrics["test/optim_steps"]));
        Assert.Equal(8, records.Count); // steps 0 … 6 and the final evaluation's row
        Assert.Contains(CheckpointLog.ReadRecords(log.Path), r => r.Final && r.Step == 7);
    }

    [Fact]
    public async Task SupervisedTrainer_PrepareBatch_GivesTheLossAnExtraInputOnEveryDatumWithoutChangingTheOrder()
    {
        using var plainLog = new TempLogDirectory();
        using var preparedLog = new TempLogDirectory();
        var (plain, _) = await RunAsync(plainLog.Path, 5);
        var fake = new FakeBackend();
        await using var service = new ServiceClient(fake);
        var run = new TrainerRun(await service.CreateLoraTrainingClientAsync("fake/base", rank: 8), LoopState.Start, null);
        var prepared = 0;
        var lossSaw = new List<bool>();
        var trainer = new SupervisedTrainer(run, Dataset(), new SupervisedTrainerOptions
        {
            LogPath = preparedLog.Path,
            MaxSteps = 5,
            LearningRate = new LrSchedule(LrScheduleKind.Linear, 1e-3, 10),
            Batching = new DatumBatcherOptions { MaxItems = 3, InputCapacity = 3 }, // read-ahead bounded to what prepared batches cost
            PrepareBatch = (data, _) =>
            {
                Interlocked.Increment(ref prepared);
                return Task.FromResult<IReadOnlyList<Datum>>([.. data.Select(d => d with
                {
                    LossFnInputs = new Dictionary<string, TensorData>(d.LossFnInputs) { ["length"] = TensorData.FromFloat32([d.ModelInput.Length]) },
                })]);
            },
            Loss = TrainingLoss.Custom("reads length", (client, data, ct) =>
            {
                lossSaw.Add(data.All(d => d.LossFnInputs["length"].ToFloat32Array()[0] == d.ModelInput.Length));
                var wire = data.Select(d => d with { LossFnInputs = d.LossFnInputs.Where(kv => kv.Key != "length").ToDictionary() }).ToList();
                return client.ForwardBackwardAsync(WaitUntil.Started, wire, LossFnType.CrossEntropy, cancellationToken: ct);
            }),
        });

        await trainer.RunAsync();
        var steps = fake.RequestsOf<ForwardBackwardRequest>()
            .Select(r => string.Join("|", r.ForwardBackwardInput.Data.Select(d => string.Join(",", d.ModelInput.ToInts()))))
            .ToList();

        Assert.Equal(plain, steps);
        Assert.Equal([true, true, true, true, true], lossSaw);
        Assert.InRange(prepared, 4, 9); // 15 datums = 4 dataset batches of 4, plus at most the graph's buffers (≤ 16 datums) read ahead
    }

    [Fact]
    public async Task SupervisedTrainer_PrepareBatchThatDropsADatum_FaultsTheRun()
    {
        using var log = new TempLogDirectory();
        await using var service = new ServiceClient(new FakeBackend());
        var run = new TrainerRun(await service.CreateLoraTrainingClientAsync("fake/base", rank: 8), LoopState.Start, null);
        var trainer = new SupervisedTrainer(run, Dataset(), new SupervisedTrainerOptions
        {
            LogPath = log.Path,
            MaxSteps = 3,
            LearningRate = new LrSchedule(LrScheduleKind.Constant, 1e-3, 3),
            PrepareBatch = (data, _) => Task.FromResult<IReadOnlyList<Datum>>([.. data.Skip(1)]),
        });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(trainer.RunAsync);

        Assert.Contains("PrepareBatch returned 3 datums for batch 0 of epoch 0, which has 4", ex.Message, StringComparison.Ordinal);
    }
}
