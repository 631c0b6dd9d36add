using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Tests.Checkpoints;
using TinkerFlow.Cookbook.Trainers;
using TinkerFlow.Dataflow;
using TinkerFlow.Dataflow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Trainers;

public sealed class PreferenceTrainerTests
{
    private const string PairKey = "pair_id";

    /// <summary>Pair p: chosen [1, p, 2] and rejected [1, p, 3, 3], each carrying its pair id as an extra loss input.</summary>
    private static Task<IReadOnlyList<Datum>> ToDatums(IReadOnlyList<int> pairs, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Datum>>([.. pairs.SelectMany(p => new[] { Datum(p, [1, p, 2]), Datum(p, [1, p, 3, 3]) })]);

    private static Datum Datum(int pair, int[] tokens) => new()
    {
        ModelInput = ModelInput.FromInts(tokens),
        LossFnInputs = new Dictionary<string, TensorData>
        {
            ["target_tokens"] = TensorData.FromInt64([.. tokens.Select(t => (long)t)]),
            ["weights"] = TensorData.FromFloat32([.. tokens.Select(_ => 1f)]),
            [PairKey] = TensorData.FromFloat32([pair]),
        },
    };

    /// <summary>Runs the trainer from the log's last checkpoint (or fresh) to <paramref name="maxSteps"/>; returns each step's pair ids and records.</summary>
    private static async Task<(List<string> Steps, List<MetricRecord> Records)> RunAsync(string logPath, int maxSteps)
    {
        var fake = new FakeBackend();
        // The "loss" reports the sum of the step's pair ids, so the metrics depend on which pairs each step trained.
        fake.ForwardBackwardHandler = input => new ForwardBackwardOutput
        {
            LossFnOutputType = "ArrayRecord",
            LossFnOutputs = FakeBackend.DefaultOutput(input).LossFnOutputs,
            Metrics = new Dictionary<string, double> { ["pair_sum"] = input.Data.Sum(d => d.ModelInput.ToInts()[1]) / 2.0, ["loss:sum"] = 1 },
        };
        await using var service = new ServiceClient(fake);
        var client = await service.CreateLoraTrainingClientAsync("fake/base", rank: 8);
        var resumed = CheckpointLog.GetLastCheckpoint(logPath);
        var run = new TrainerRun(client, resumed?.LoopState ?? LoopState.Start, resumed);
        var seen = new List<string>();
        var loss = TrainingLoss.Custom("pairs", (c, data, ct) =>
        {
            // A client-side loss sees the extra inputs and sends the datums without them.
            seen.Add(string.Join(",", data.Where((_, i) => i % 2 == 0).Select(d => (int)d.LossFnInputs[PairKey].ToFloat32Array()[0])));
            var plain = data.Select(d => d with { LossFnInputs = d.LossFnInputs.Where(kv => kv.Key != PairKey).ToDictionary() }).ToList();
            return c.ForwardBackwardAsync(WaitUntil.Started, plain, LossFnType.CrossEntropy, cancellationToken: ct);
        });
        var evaluation = new TrainerEvaluation("probe", (_, _) => Task.FromResult<IReadOnlyDictionary<string, double>>(new Dictionary<string, double> { ["test/optim_steps"] = fake.Count("optim") }));
        var trainer = PreferenceTrainer.Create(
            run,
            new PreferenceDataset<int>([.. Enumerable.Range(0, 11)], pairsPerBatch: 2, seed: 7, ToDatums), // 5 batches per epoch, pair 10 left over
            loss,
            ["pair_sum"],
            new SupervisedTrainerOptions
            {
                LogPath = logPath,
                MaxSteps = maxSteps,
                LearningRate = new LrSchedule(LrScheduleKind.Linear, 1e-3, 8),
                SubmitAhead = 2,
                Evaluations = [evaluation],
                EvalEvery = 3,
                Checkpoints = new CheckpointOptions { SaveEvery = 2 },
                StepMetrics = step => new Dictionary<string, double> { ["pairs_in_step"] = step.Data.Count() / 2.0 }, // joins the loss's metrics
            });
        var records = new List<MetricRecord>();
        using var sub = trainer.Metrics.Subscribe(records.Add);
        await trainer.RunAsync();
        return (seen, records);
    }

    [Fact]
    public async Task PreferenceTrainer_ResumedRun_ContinuesWithTheSameDataOrderAndMetrics()
    {
        using var straightLog = new TempLogDirectory();
        using var interruptedLog = new TempLogDirectory();

        var (straight, straightRecords) = await RunAsync(straightLog.Path, 8);
        var (before, beforeRecords) = await RunAsync(interruptedLog.Path, 4);
        var (after, afterRecords) = await RunAsync(interruptedLog.Path, 8);

        // Two epochs' worth of pairs in the same order (epoch 1 reshuffled with seed + 1), never a pair split across steps.
        Assert.Equal(8, straight.Count);
        Assert.Equal(straight, [.. before, .. after]);
        Assert.NotEqual(straight.Take(3), straight.Skip(5).Take(3));
        var resumed = beforeRecords.Where(r => r.Step < 4).Concat(afterRecords).ToList();
        Assert.Equal(straightRecords.Select(r => r.Step), resumed.Select(r => r.Step));
        string[] keys = ["pair_sum", MetricNames.Epoch, MetricNames.ProgressBatch, MetricNames.TrainNumDatums, MetricNames.TrainNumTokens, MetricNames.OptimLr];
        foreach (var key in keys)
        {
            Assert.Equal(straightRecords.Select(r => r.Get(key)), resumed.Select(r => r.Get(key)));
        }

        // Evaluations at the same boundaries (0, 3, 6 and after the last step), each on exactly that many steps of this process.
        Assert.Equal([0, 3, 6, 8], resumed.Where(r => r.Metrics.ContainsKey("test/optim_steps")).Select(r => r.Step));
        Assert.Equal([0.0, 3, 2, 4], resumed.Where(r => r.Metrics.ContainsKey("test/optim_steps")).Select(r => r.Metrics["test/optim_steps"]));

        Assert.All(resumed.Where(r => r.Step < 8), r => Assert.Equal(2, r.Get("pairs_in_step")));
        var atFour = CheckpointLog.ReadRecords(interruptedLog.Path).First(r => r.Final && r.Step == 4);
        Assert.Equal((0, 4, 0), (atFour.Epoch, atFour.Batch, atFour.Item ?? 0));
    }
}
