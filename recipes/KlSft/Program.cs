// KlSft: chat SFT with a penalty that keeps the policy close to the frozen base model, loss = nll + λ·kl: a loss none of
// the five built-ins express, written with TorchSharp (KlSftLoss.cs) and trained with ForwardBackwardCustomAsync. Read
// it top to bottom: config → clients → data with reference logprobs → (resume) → train/eval/save loop.
//
//   dotnet run -c Release --project recipes/KlSft -- --log-path runs/kl-sft [--kl-coef 0.1] [--max-steps 40] [--base-url URL]
//
// The reference logprob of every target token comes from a sampling client on the base model (the LoRA's starting
// point) and rides on each datum as an extra loss input, which the loss reads and the wire never sees.
using System.Globalization;
using TinkerFlow;
using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Dataflow;
using TinkerFlow.Cookbook.Recipes;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Recipes.KlSft;
using TinkerFlow.Torch;
using TinkerFlow.Types;
using TorchSharp;

var config = RecipeArgs.Parse(new Config(), args);
Console.WriteLine($"KlSft config: {RecipeArgs.Describe(config)}");
Directory.CreateDirectory(config.LogPath);

// ---- Clients: the embedded engine by default, a Tinker service with --base-url; the reference is the base model.
await using var service = new ServiceClient(RecipeArgs.ClientOptions(config.BaseUrl));
var resume = CheckpointLog.GetLastCheckpoint(config.LogPath);
var training = resume?.StatePath is { } statePath
    ? await service.CreateTrainingClientFromStateWithOptimizerAsync(statePath)
    : await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed);
var startStep = resume?.Step ?? 0;
Console.WriteLine(resume is null ? $"Training run {training.ModelId}" : $"Resumed {training.ModelId} at step {startStep} from {resume.StatePath}");
var reference = await service.CreateSamplingClientAsync(baseModel: config.Model);
var renderer = new Qwen3Renderer(await training.GetTokenizerAsync());

// ---- Data: loss on the assistant tokens (weight 1), each datum carrying the reference logprob of its targets.
var (train, test) = ConversationFile.Split(ConversationFile.Load(config.DataPath), config.TestSize, config.Seed);
var batchesPerEpoch = train.Count / config.BatchSize;
Console.WriteLine($"{train.Count} train conversations ({batchesPerEpoch} batches per epoch), {test.Count} held out");

async Task<Datum> ToDatumAsync(IReadOnlyList<Message> conversation)
{
    var (tokens, weights) = renderer.BuildSupervisedExample(conversation);
    var datum = DatumBuilder.FromModelInputWeights(tokens, weights, reduction: Reduction.Sum);
    var last = (int)datum.LossFnInputs["target_tokens"].ToInt64Array()[^1];
    var logprobs = await reference.ComputeLogprobsAsync(datum.ModelInput.AppendInt(last));
    return KlSftLoss.WithReference(datum, [.. logprobs.Skip(1).Select(lp => (float)(lp ?? 0))]);
}

async Task<List<Datum>> ToDataAsync(IEnumerable<IReadOnlyList<Message>> conversations) => [.. await Task.WhenAll(conversations.Select(ToDatumAsync))];

// ---- Held-out evaluation: the same loss from a forward pass (no gradients), prefixed test/.
var testData = await ToDataAsync(test);
var testPlain = testData.Select(d => d with { LossFnInputs = d.LossFnInputs.Where(kv => kv.Key != KlSftLoss.ReferenceKey).ToDictionary() }).ToList();
var baseNll = -testData.Sum(d => d.LossFnInputs["weights"].ToFloat32Array().Zip(d.LossFnInputs[KlSftLoss.ReferenceKey].ToFloat32Array(), (w, lp) => w * (double)lp).Sum())
    / testData.Sum(d => d.LossFnInputs["weights"].ToFloat32Array().Sum());
Console.WriteLine($"The base model's held-out nll is {baseNll:F3} (test/base_nll)");

async Task<Dictionary<string, double>> EvaluateAsync()
{
    var forward = await training.ForwardAsync(WaitUntil.Completed, testPlain, LossFnType.CrossEntropy);
    using var scope = torch.NewDisposeScope();
    var logprobs = forward.Value.LossFnOutputs.Select(o => o["logprobs"].ToTorch()).ToList();
    var result = KlSftLoss.Compute(testData, logprobs, config.KlCoef);
    var metrics = result.Metrics!.ToDictionary(kv => $"test/{kv.Key}", kv => kv.Value);
    metrics["test/loss"] = result.Loss.item<float>();
    metrics["test/base_nll"] = baseNll;
    return metrics;
}

// ---- The loop: ForwardBackwardCustom (forward, client-side loss, backward) and optim_step back to back, then await.
var metricsFile = Path.Combine(config.LogPath, "metrics.jsonl");
JsonlMetricsReader.KeepStepsBefore(metricsFile, startStep); // rows of steps after the checkpoint are trained again
using var metricsWriter = new JsonlMetricsWriter(metricsFile);
var checkpoints = new CheckpointManager(training, config.LogPath, new CheckpointOptions { SaveEvery = config.SaveEvery });
var schedule = new LrSchedule(LrScheduleKind.Linear, config.LearningRate, config.MaxSteps);
var loss = KlSftLoss.Create(config.KlCoef);
for (var step = startStep; step < config.MaxSteps; step++)
{
    var started = DateTime.UtcNow;
    var (epoch, batchIndex) = (step / batchesPerEpoch, step % batchesPerEpoch);
    if (step > startStep)
    {
        await checkpoints.MaybeSaveAsync(new LoopState(epoch, batchIndex, step));
    }

    var order = SeededRandom.Permutation(train.Count, config.Seed + epoch);
    var batch = await ToDataAsync(order.Skip(batchIndex * config.BatchSize).Take(config.BatchSize).Select(i => train[i]));
    var lr = schedule.GetLr(step);
    var fb = await training.ForwardBackwardCustomAsync(WaitUntil.Started, batch, loss);
    var optim = await training.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = lr });
    var output = await fb;
    await optim;

    // nll/kl/log_ratio describe the weights before this step's update; test/* the weights after it.
    var metrics = new Dictionary<string, double> { ["step"] = step, ["epoch"] = epoch, ["optim/lr"] = lr, ["loss"] = output.Metrics["custom_loss"] };
    foreach (var key in new[] { "nll", "kl", "log_ratio", "num_loss_tokens" })
    {
        metrics[key] = output.Metrics[key];
    }

    if ((step + 1) % config.EvalEvery == 0 || step + 1 == config.MaxSteps)
    {
        foreach (var (key, value) in await EvaluateAsync())
        {
            metrics[key] = value;
        }
    }

    metrics["time/step"] = (DateTime.UtcNow - started).TotalSeconds;
    metricsWriter.OnNext(new MetricRecord(step, metrics, DateTimeOffset.UtcNow));
    Console.WriteLine(string.Join("  ", metrics.Select(kv => $"{kv.Key}={kv.Value.ToString("G4", CultureInfo.InvariantCulture)}")));
}

if (startStep < config.MaxSteps)
{
    var final = await checkpoints.SaveFinalAsync(new LoopState(config.MaxSteps / batchesPerEpoch, config.MaxSteps % batchesPerEpoch, config.MaxSteps));
    Console.WriteLine($"Final checkpoint: {final.StatePath} (sampler: {final.SamplerPath})");
}
