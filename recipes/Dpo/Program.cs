// Dpo: direct preference optimization as one flat loop (the C# twin of the cookbook's preference/dpo). Read it top to
// bottom: config → clients → data → reference logprobs (cached) → (resume) → train/eval/save loop.
//
//   dotnet run -c Release --project recipes/Dpo -- --log-path runs/dpo [--max-steps 60] [--beta 0.1] [--base-url URL] [--model NAME]
//
// Each step trains on BatchSize preference pairs through TinkerFlow.Torch's ForwardBackwardCustomAsync (wire-protocol
// §10.5): the client computes loss = −log σ(β·[(s_c − s_c^ref) − (s_r − s_r^ref)]) as a TorchSharp loss (DpoLoss.cs;
// autograd supplies the gradient) from the policy's per-token logprobs, where s is the summed logprob of the answer
// tokens and s^ref the same under the base model, carried by each datum as an extra loss input. Reference scores come from a sampling
// client on the base model (the LoRA's initial weights), are computed once per pair and cached in
// log_path/reference_logprobs.jsonl, so a resumed run neither recomputes nor drifts from them.
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TinkerFlow;
using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Dataflow;
using TinkerFlow.Cookbook.Recipes;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Recipes.Dpo;
using TinkerFlow.Torch;
using TinkerFlow.Types;
using TorchSharp;

var config = RecipeArgs.Parse(new Config(), args);
Console.WriteLine($"Dpo config: {RecipeArgs.Describe(config)}");
Directory.CreateDirectory(config.LogPath);

// ---- Clients: the embedded engine by default, a Tinker service with --base-url. The reference is the base model,
// which is exactly the LoRA policy's starting point (LoRA B is zero-initialised).
var options = new TinkerClientOptions();
if (config.BaseUrl is not null)
{
    options.BaseUrl = new Uri(config.BaseUrl);
}

await using var service = new ServiceClient(options);
var resume = CheckpointLog.GetLastCheckpoint(config.LogPath);
var training = resume?.StatePath is { } statePath
    ? await service.CreateTrainingClientFromStateWithOptimizerAsync(statePath)
    : await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed);
var startStep = resume?.Step ?? 0;
Console.WriteLine(resume is null ? $"Training run {training.ModelId}" : $"Resumed {training.ModelId} at step {startStep} from {resume.StatePath}");
var reference = await service.CreateSamplingClientAsync(baseModel: config.Model);
var renderer = new Qwen3Renderer(await training.GetTokenizerAsync());

// ---- Data: each pair becomes two datums (chosen, rejected) with weight 1 on the answer tokens and 0 on the prompt.
var (train, test) = ConversationFile.Split(PreferencePair.Load(config.DataPath), config.TestSize, config.Seed);
var batchesPerEpoch = train.Count / config.BatchSize;
Console.WriteLine($"{train.Count} train pairs ({batchesPerEpoch} batches per epoch), {test.Count} held-out pairs");

Datum ToDatum(PreferencePair pair, string answer)
{
    var (tokens, weights) = renderer.BuildSupervisedExample([.. pair.Prompt, Message.Assistant(answer)]);
    return DatumBuilder.FromModelInputWeights(tokens, weights, reduction: Reduction.Sum);
}

List<Datum> ToData(IEnumerable<PreferencePair> pairs) => [.. pairs.SelectMany(p => new[] { ToDatum(p, p.Chosen), ToDatum(p, p.Rejected) })];

// ---- Reference scores: s^ref = Σ_t w_t·logp_ref(target_t), once per pair, cached in memory and on disk.
var referenceFile = Path.Combine(config.LogPath, "reference_logprobs.jsonl");
var referenceCache = new ConcurrentDictionary<int, (double Chosen, double Rejected)>();
if (File.Exists(referenceFile))
{
    foreach (var row in File.ReadLines(referenceFile).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!))
    {
        referenceCache[(int)row["pair"]!] = ((double)row["chosen"]!, (double)row["rejected"]!);
    }
}

async Task<double> ReferenceScoreAsync(Datum datum)
{
    var targets = datum.LossFnInputs["target_tokens"].ToInt64Array();
    var weights = datum.LossFnInputs["weights"].ToFloat32Array();
    var logprobs = await reference.ComputeLogprobsAsync(datum.ModelInput.AppendInt((int)targets[^1]));
    return DpoLoss.Score([.. logprobs.Skip(1).Select(lp => (float)(lp ?? 0))], weights);
}

// The datums with their reference scores attached (DpoLoss.ReferenceScoreKey); the score never leaves the client.
async Task<List<Datum>> WithReferenceScoresAsync(IReadOnlyList<PreferencePair> pairs, IReadOnlyList<Datum> data)
{
    var missing = pairs.Select((p, i) => (p, i)).Where(x => !referenceCache.ContainsKey(x.p.Index)).ToList();
    var computed = await Task.WhenAll(missing.Select(async x =>
        (x.p.Index, Chosen: await ReferenceScoreAsync(data[2 * x.i]), Rejected: await ReferenceScoreAsync(data[(2 * x.i) + 1]))));
    var lines = new List<string>();
    foreach (var (index, chosen, rejected) in computed)
    {
        referenceCache[index] = (chosen, rejected);
        lines.Add(new JsonObject { ["pair"] = index, ["chosen"] = chosen, ["rejected"] = rejected }.ToJsonString());
    }

    File.AppendAllLines(referenceFile, lines);
    var scores = pairs.SelectMany(p => new[] { referenceCache[p.Index].Chosen, referenceCache[p.Index].Rejected }).ToList();
    return [.. data.Select((d, i) => DpoLoss.WithReferenceScore(d, scores[i]))];
}

// ---- Held-out evaluation: the same loss and metrics, from a forward pass (no gradients), prefixed test/.
var testPlain = ToData(test);
var testData = await WithReferenceScoresAsync(test, testPlain);
var basePreference = test.Count(p => referenceCache[p.Index].Chosen > referenceCache[p.Index].Rejected) / (double)test.Count;
Console.WriteLine($"The base model already prefers the chosen answer on {basePreference:P1} of held-out pairs (test/base_preference_accuracy)");

async Task<Dictionary<string, double>> EvaluateAsync()
{
    var forward = await training.ForwardAsync(WaitUntil.Completed, testPlain, LossFnType.CrossEntropy);
    using var scope = torch.NewDisposeScope();
    var logprobs = forward.Value.LossFnOutputs.Select(o => o["logprobs"].ToTorch()).ToList();
    var metrics = DpoLoss.Compute(testData, logprobs, config.Beta).Metrics!;
    var result = metrics.Where(kv => kv.Key != "num_pairs").ToDictionary(kv => $"test/{kv.Key}", kv => kv.Value);
    result["test/base_preference_accuracy"] = basePreference;
    return result;
}

// ---- The loop: ForwardBackwardCustom (forward, client-side loss, backward) and optim_step back to back, then await.
var metricsFile = Path.Combine(config.LogPath, "metrics.jsonl");
var checkpoints = new CheckpointManager(training, config.LogPath, new CheckpointOptions { SaveEvery = config.SaveEvery });
var schedule = new LrSchedule(LrScheduleKind.Linear, config.LearningRate, config.MaxSteps);
for (var step = startStep; step < config.MaxSteps; step++)
{
    var started = DateTime.UtcNow;
    var (epoch, batchIndex) = (step / batchesPerEpoch, step % batchesPerEpoch);
    if (step > startStep)
    {
        await checkpoints.MaybeSaveAsync(new LoopState(epoch, batchIndex, step));
    }

    var order = SeededRandom.Permutation(train.Count, config.Seed + epoch);
    var pairs = order.Skip(batchIndex * config.BatchSize).Take(config.BatchSize).Select(i => train[i]).ToList();
    var batch = await WithReferenceScoresAsync(pairs, ToData(pairs));
    var lr = schedule.GetLr(step);

    var fb = await training.ForwardBackwardCustomAsync(WaitUntil.Started, batch, DpoLoss.Create(config.Beta));
    var optim = await training.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = lr });
    var output = await fb;
    var optimResult = await optim;

    var metrics = new Dictionary<string, double> { ["step"] = step };
    foreach (var key in new[] { "dpo_loss", "accuracy", "margin", "chosen_reward", "rejected_reward", "preference_accuracy", "num_pairs" })
    {
        metrics[key] = output.Metrics[key];
    }

    metrics["optim/lr"] = lr;
    metrics["epoch"] = epoch;
    metrics["num_tokens"] = batch.Sum(d => d.ModelInput.Length);
    foreach (var (key, value) in optimResult.Metrics ?? new Dictionary<string, double>())
    {
        metrics[$"optim/{key.Split(':')[0]}"] = value;
    }

    // test/* describe the weights after this step's update.
    if ((step + 1) % config.EvalEvery == 0 || step + 1 == config.MaxSteps)
    {
        foreach (var (key, value) in await EvaluateAsync())
        {
            metrics[key] = value;
        }
    }

    metrics["time/step"] = (DateTime.UtcNow - started).TotalSeconds;
    File.AppendAllText(metricsFile, JsonSerializer.Serialize(metrics) + "\n");
    Console.WriteLine(string.Join("  ", metrics.Select(kv => $"{kv.Key}={kv.Value.ToString("G4", CultureInfo.InvariantCulture)}")));
}

if (startStep < config.MaxSteps)
{
    var end = new LoopState(config.MaxSteps / batchesPerEpoch, config.MaxSteps % batchesPerEpoch, config.MaxSteps);
    var final = await checkpoints.SaveFinalAsync(end);
    Console.WriteLine($"Final checkpoint: {final.StatePath} (sampler: {final.SamplerPath})");
}
