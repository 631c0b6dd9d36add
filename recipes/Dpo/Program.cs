// Dpo: direct preference optimization (the C# twin of the cookbook's preference/dpo) as a composition of library
// blocks: config → data (pairs with cached reference scores) → PreferenceTrainer (one Dataflow graph: pairs →
// DatumBatcher → TrainingStage with a TorchSharp DPO loss, held-out evaluation and checkpoints at step boundaries) →
// metric sinks → run.
//
//   dotnet run -c Release --project recipes/Dpo -- --log-path runs/dpo [--max-steps 60] [--beta 0.1] [--base-url URL] [--model NAME] [--describe]
//
// Each step trains on BatchSize pairs through TinkerFlow.Torch's ForwardBackwardCustomAsync (wire-protocol §10.5):
// loss = −log σ(β·[(s_c − s_c^ref) − (s_r − s_r^ref)]) as a TorchSharp loss (DpoLoss.cs; autograd supplies the
// gradient), where s is the summed logprob of the answer tokens and s^ref the same under the base model (the LoRA's
// initial weights), carried by each datum as an extra loss input that never leaves the client.
using System.Reactive.Linq;
using TinkerFlow;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Recipes;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Trainers;
using TinkerFlow.Dataflow;
using TinkerFlow.Recipes.Dpo;
using TinkerFlow.Torch;
using TinkerFlow.Types;
using TorchSharp;

var config = RecipeArgs.Parse(new Config(), args);
Console.WriteLine($"Dpo config: {RecipeArgs.Describe(config)}");

// ---- Clients and the run (fresh, or resumed from log_path). The reference is the base model.
await using var service = new ServiceClient(RecipeArgs.ClientOptions(config.BaseUrl));
var run = await TrainerRun.StartOrResumeAsync(service, config.LogPath, () => service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed));
Console.WriteLine(run);
var renderer = new Qwen3Renderer(await run.Client.GetTokenizerAsync());
var scores = new ReferenceScores(await service.CreateSamplingClientAsync(baseModel: config.Model), renderer, Path.Combine(config.LogPath, "reference_logprobs.jsonl"));

// ---- Data: held-out pairs scored once up front; training pairs scored as the graph reads them.
var (train, test) = ConversationFile.Split(PreferencePair.Load(config.DataPath), config.TestSize, config.Seed);
var testPlain = scores.ToData(test);
var testData = await scores.ScoredDataAsync(test, CancellationToken.None);
var basePreference = test.Count(p => scores[p].Chosen > scores[p].Rejected) / (double)test.Count;
Console.WriteLine($"{train.Count} train pairs, {test.Count} held-out pairs; the base model already prefers the chosen answer on {basePreference:P1} of them");

// ---- Held-out evaluation: the DPO metrics from a forward pass (no gradients), prefixed test/.
var evaluation = new TrainerEvaluation("test/accuracy (DPO metrics on held-out pairs)", async (client, ct) =>
{
    var forward = await client.ForwardAsync(WaitUntil.Completed, testPlain, LossFnType.CrossEntropy, cancellationToken: ct);
    using var scope = torch.NewDisposeScope();
    var metrics = DpoLoss.Compute(testData, [.. forward.Value.LossFnOutputs.Select(o => o["logprobs"].ToTorch())], config.Beta).Metrics!;
    var result = metrics.Where(kv => kv.Key != "num_pairs").ToDictionary(kv => $"test/{kv.Key}", kv => kv.Value);
    result["test/base_preference_accuracy"] = basePreference;
    return result;
});

// ---- The trainer.
var trainer = PreferenceTrainer.Create(
    run,
    new PreferenceDataset<PreferencePair>(train, config.BatchSize, config.Seed, scores.ScoredDataAsync),
    TrainingLoss.Custom($"dpo β={config.Beta} (TorchSharp logsigmoid)", (client, data, ct) => client.ForwardBackwardCustomAsync(WaitUntil.Started, data, DpoLoss.Create(config.Beta), ct)),
    ["dpo_loss", "accuracy", "margin", "chosen_reward", "rejected_reward", "preference_accuracy", "num_pairs"],
    new SupervisedTrainerOptions
    {
        LogPath = config.LogPath,
        MaxSteps = config.MaxSteps,
        LearningRate = new LrSchedule(LrScheduleKind.Linear, config.LearningRate, config.MaxSteps),
        Evaluations = [evaluation],
        EvalEvery = config.EvalEvery,
        Checkpoints = new() { SaveEvery = config.SaveEvery },
    });
if (config.Describe)
{
    Console.WriteLine(trainer.Describe($"{Path.GetFileName(config.DataPath)}: {train.Count} pairs, {config.BatchSize} per step, reshuffled each epoch"));
    return;
}

// ---- Sinks on the one metric stream: metrics.jsonl (a resumed run drops the rows it redoes) and the console.
var metricsPath = Path.Combine(config.LogPath, "metrics.jsonl");
JsonlMetricsReader.KeepStepsBefore(metricsPath, run.State.Step);
using var view = new ConsoleMetricsView(new ConsoleMetricsViewOptions
{
    Title = "dpo",
    TotalSteps = config.MaxSteps,
    ShownMetrics = ["dpo_loss", "accuracy", "margin", "test/accuracy", MetricNames.OptimLr, MetricNames.TimeStep],
});
using var jsonl = trainer.Metrics.Subscribe(new JsonlMetricsWriter(metricsPath));
using var live = trainer.Metrics.Where(r => r.Step < config.MaxSteps).Subscribe(view);
MetricRecord? last = null;
using var final = trainer.Metrics.Subscribe(r => last = r, _ => { });

await trainer.RunAsync();
await view.Completion;
Console.WriteLine($"Done: test/accuracy {last?.Get("test/accuracy"):F3}, test/margin {last?.Get("test/margin"):F3}; logs in {config.LogPath}");
