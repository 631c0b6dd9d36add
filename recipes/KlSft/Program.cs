// KlSft: chat SFT with a penalty that keeps the policy close to the frozen base model, loss = nll + λ·kl: a loss none of
// the five built-ins express, written with TorchSharp (KlSftLoss.cs), as a composition of library blocks: config → data →
// SupervisedTrainer (one Dataflow graph: conversations → reference logprobs per batch → DatumBatcher → TrainingStage
// with the custom loss, held-out evaluation and checkpoints at step boundaries) → metric sinks → run.
//
//   dotnet run -c Release --project recipes/KlSft -- --log-path runs/kl-sft [--kl-coef 0.1] [--max-steps 40] [--base-url URL] [--describe]
//
// The reference logprob of every target token comes from a sampling client on the base model (the LoRA's starting
// point) and rides on each datum as an extra loss input, which the loss reads and the wire never sees.
using System.Reactive.Linq;
using TinkerFlow;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Recipes;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Cookbook.Trainers;
using TinkerFlow.Dataflow;
using TinkerFlow.Recipes.KlSft;
using TinkerFlow.Torch;
using TinkerFlow.Types;
using TorchSharp;

var config = RecipeArgs.Parse(new Config(), args);
Console.WriteLine($"KlSft config: {RecipeArgs.Describe(config)}");

// ---- Clients and the run (fresh, or resumed from log_path: weights, optimizer, data cursor). The reference is the base model.
await using var service = new ServiceClient(RecipeArgs.ClientOptions(config.BaseUrl));
var run = await TrainerRun.StartOrResumeAsync(service, config.LogPath, () => service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed));
Console.WriteLine(run);
var reference = await service.CreateSamplingClientAsync(baseModel: config.Model);
var renderer = new Qwen3Renderer(await run.Client.GetTokenizerAsync());

// ---- Data: loss on the last assistant message (weight 1). Training batches get their reference logprobs as the graph
// reads them (the trainer's PrepareBatch); the held-out ones once, up front.
var (train, test) = new ConversationFileBuilder
{
    FilePath = config.DataPath, BatchSize = config.BatchSize, TestSize = config.TestSize, ShuffleSeed = config.Seed,
    TrainOnWhat = TrainOnWhat.LastAssistantMessage, Reduction = Reduction.Sum,
}.Build(renderer);
var testData = await KlSftLoss.WithReferenceAsync(reference, (test ?? throw new ArgumentException("KlSft needs held-out conversations: set --test-size above 0.")).GetBatch(0), CancellationToken.None);
var testPlain = testData.Select(KlSftLoss.WithoutReference).ToList();

// ---- Held-out evaluation: the same loss from a forward pass (no gradients), prefixed test/; test/base_nll is the
// base model's own held-out nll (the loss's nll at logprobs = the reference's).
double baseNll;
using (torch.NewDisposeScope())
{
    baseNll = KlSftLoss.Compute(testData, [.. testData.Select(d => d.LossFnInputs[KlSftLoss.ReferenceKey].ToTorch())], 0).Metrics!["nll"];
}

var evaluation = new TrainerEvaluation("test/nll, test/kl (the KL-SFT loss on held-out conversations)", async (client, ct) =>
{
    var forward = await client.ForwardAsync(WaitUntil.Completed, testPlain, LossFnType.CrossEntropy, cancellationToken: ct);
    using var scope = torch.NewDisposeScope();
    var result = KlSftLoss.Compute(testData, [.. forward.Value.LossFnOutputs.Select(o => o["logprobs"].ToTorch())], config.KlCoef);
    var metrics = result.Metrics!.ToDictionary(kv => $"test/{kv.Key}", kv => kv.Value);
    metrics["test/loss"] = result.Loss.item<float>();
    metrics["test/base_nll"] = baseNll;
    return (IReadOnlyDictionary<string, double>)metrics;
});

// ---- The trainer: SFT's graph with the custom loss; the step's record gets the loss's own metrics, unprefixed.
var trainer = new SupervisedTrainer(run, train, new SupervisedTrainerOptions
{
    LogPath = config.LogPath,
    MaxSteps = config.MaxSteps,
    LearningRate = new LrSchedule(LrScheduleKind.Linear, config.LearningRate, config.MaxSteps),
    Loss = TrainingLoss.Custom($"kl-sft λ={config.KlCoef} (TorchSharp)", (client, data, ct) => client.ForwardBackwardCustomAsync(WaitUntil.Started, data, KlSftLoss.Create(config.KlCoef), ct)),
    PrepareBatch = (data, ct) => KlSftLoss.WithReferenceAsync(reference, data, ct),
    Batching = new DatumBatcherOptions { MaxItems = config.BatchSize, InputCapacity = config.BatchSize }, // score ≤ 1 batch ahead
    StepMetrics = step => KlSftLoss.MetricNames.ToDictionary(k => k, k => step.ForwardBackward.Average(o => o.Metrics[k == "loss" ? "custom_loss" : k])),
    Evaluations = [evaluation],
    EvalEvery = config.EvalEvery,
    Checkpoints = new() { SaveEvery = config.SaveEvery },
});
if (config.Describe)
{
    Console.WriteLine(trainer.Describe($"{Path.GetFileName(config.DataPath)}: {train.Conversations.Count} train conversations, {train.Count} batches per epoch, reshuffled each epoch; each batch gets the base model's reference logprobs"));
    return;
}

Console.WriteLine($"{train.Conversations.Count} train conversations ({train.Count} batches per epoch), {test.Conversations.Count} held out; the base model's held-out nll is {baseNll:F3}");

// ---- Sinks on the one metric stream: metrics.jsonl (a resumed run drops the rows it redoes) and the console.
var metricsPath = Path.Combine(config.LogPath, "metrics.jsonl");
JsonlMetricsReader.KeepStepsBefore(metricsPath, run.State.Step);
using var view = new ConsoleMetricsView(new ConsoleMetricsViewOptions
{
    Title = "kl-sft",
    TotalSteps = config.MaxSteps,
    ShownMetrics = ["loss", "nll", "kl", "test/nll", "test/kl", MetricNames.OptimLr, MetricNames.TimeStep],
});
using var jsonl = trainer.Metrics.Subscribe(new JsonlMetricsWriter(metricsPath));
using var live = trainer.Metrics.Where(r => r.Step < config.MaxSteps).Subscribe(view);
MetricRecord? last = null;
using var final = trainer.Metrics.Subscribe(r => last = r, _ => { });

await trainer.RunAsync();
await view.Completion;
Console.WriteLine($"Done: test/nll {last?.Get("test/nll"):F3} (base {baseNll:F3}), test/kl {last?.Get("test/kl"):F3}; logs in {config.LogPath}");
