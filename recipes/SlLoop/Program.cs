// SlLoop: supervised fine-tuning as one flat loop against the raw Tinker clients (the C# twin of the cookbook's
// sl_loop.py). Read it top to bottom: config → clients → data → (resume) → train/eval/save loop → sample.
//
//   dotnet run -c Release --project recipes/SlLoop -- --log-path runs/sl-loop [--max-steps 60] [--base-url URL] [--model NAME]
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TinkerFlow;
using TinkerFlow.Dataflow;
using TinkerFlow.Types;

var config = Config.Parse(args);
Console.WriteLine($"SlLoop config: {config}");
Directory.CreateDirectory(config.LogPath);

// ---- Clients: the embedded engine by default, a Tinker service with --base-url.
var options = new TinkerClientOptions();
if (config.BaseUrl is not null)
{
    options.BaseUrl = new Uri(config.BaseUrl);
}

await using var service = new ServiceClient(options);

// ---- Resume from the last checkpoint in log_path, if any.
var checkpointsFile = Path.Combine(config.LogPath, "checkpoints.jsonl");
var resume = File.Exists(checkpointsFile)
    ? File.ReadLines(checkpointsFile).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!).LastOrDefault()
    : null;
var training = resume is null
    ? await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed)
    : await service.CreateTrainingClientFromStateWithOptimizerAsync((string)resume["state_path"]!);
var startStep = resume is null ? 0 : (int)resume["step"]! ;
Console.WriteLine(resume is null ? $"Training run {training.ModelId}" : $"Resumed {training.ModelId} at step {startStep}");
var tokenizer = await training.GetTokenizerAsync();

// ---- Data: chat JSONL → ChatML tokens with loss weights on the assistant answer only.
var conversations = File.ReadLines(config.DataPath)
    .Select(l => JsonNode.Parse(l)!["messages"]!.AsArray())
    .Select(m => ((string)m[0]!["content"]!, (string)m[1]!["content"]!))
    .ToList();
var shuffled = conversations.OrderBy(_ => 0).ToList();
new Random(config.Seed).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(shuffled));
var test = shuffled.Take(config.TestSize).Select(c => ToDatum(c.Item1, c.Item2)).ToList();
var train = shuffled.Skip(config.TestSize).ToList();

Datum ToDatum(string question, string answer)
{
    var prompt = tokenizer.Encode($"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n");
    var completion = tokenizer.Encode($"{answer}<|im_end|>");
    var tokens = prompt.Concat(completion).ToArray();
    var weights = Enumerable.Repeat(0f, prompt.Count).Concat(Enumerable.Repeat(1f, completion.Count)).ToArray();
    // Shift by one: position i predicts token i+1.
    return Datum.Create(
        ModelInput.FromInts(tokens[..^1]),
        new Dictionary<string, object> { ["target_tokens"] = tokens[1..], ["weights"] = weights[1..] });
}

// ---- The loop: submit forward_backward and optim_step back to back, then await both.
var metricsFile = Path.Combine(config.LogPath, "metrics.jsonl");
var batchesPerEpoch = train.Count / config.BatchSize;
for (var step = startStep; step < config.MaxSteps; step++)
{
    var started = DateTime.UtcNow;
    var metrics = new Dictionary<string, double> { ["step"] = step };
    if (step % config.EvalEvery == 0)
    {
        var eval = await training.ForwardAsync(WaitUntil.Completed, test, LossFnType.CrossEntropy);
        metrics["test/nll"] = NllMetrics.MeanNll(eval.Value, test);
    }

    var epoch = step / batchesPerEpoch;
    var order = Enumerable.Range(0, train.Count).ToArray();
    new Random(config.Seed + epoch).Shuffle(order);
    var batch = order.Skip(step % batchesPerEpoch * config.BatchSize).Take(config.BatchSize).Select(i => ToDatum(train[i].Item1, train[i].Item2)).ToList();
    var lr = config.LearningRate * (1.0 - ((double)step / config.MaxSteps));
    var fb = await training.ForwardBackwardAsync(WaitUntil.Started, batch, LossFnType.CrossEntropy);
    var optim = await training.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = lr });
    var output = await fb;
    var optimResult = await optim;

    metrics["train_mean_nll"] = NllMetrics.MeanNll(output, batch);
    metrics["optim/lr"] = lr;
    metrics["epoch"] = epoch;
    metrics["num_tokens"] = batch.Sum(d => d.ModelInput.Length);
    foreach (var (key, value) in optimResult.Metrics ?? new Dictionary<string, double>())
    {
        metrics[$"optim/{key.Split(':')[0]}"] = value;
    }

    metrics["time/step"] = (DateTime.UtcNow - started).TotalSeconds;
    File.AppendAllText(metricsFile, JsonSerializer.Serialize(metrics) + "\n");
    Console.WriteLine(string.Join("  ", metrics.Select(kv => $"{kv.Key}={kv.Value.ToString("G4", CultureInfo.InvariantCulture)}")));

    if ((step + 1) % config.SaveEvery == 0 || step + 1 == config.MaxSteps)
    {
        var name = $"step-{step + 1:D6}";
        var state = await training.SaveStateAsync(WaitUntil.Completed, name);
        var sampler = await training.SaveWeightsForSamplerAsync(WaitUntil.Completed, name);
        var record = new JsonObject
        {
            ["name"] = name,
            ["step"] = step + 1,
            ["epoch"] = epoch,
            ["final"] = step + 1 == config.MaxSteps,
            ["state_path"] = state.Value.Path,
            ["sampler_path"] = sampler.Value.Path,
        };
        File.AppendAllText(checkpointsFile, record.ToJsonString() + "\n");
    }
}

// ---- Sample from the trained weights on a few held-out questions.
var samplingClient = await training.SaveWeightsAndGetSamplingClientAsync();
var stop = new SamplingParams { MaxTokens = 40, Temperature = 0, Stop = new[] { "<|im_end|>" } };
foreach (var (question, answer) in shuffled.Take(3))
{
    var prompt = ModelInput.FromInts(tokenizer.Encode($"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"));
    var result = await samplingClient.SampleAsync(WaitUntil.Completed, prompt, 1, stop);
    var text = tokenizer.Decode(result.Value.Sequences[0].Tokens).Replace("<|im_end|>", string.Empty);
    Console.WriteLine($"Q: {question}\n   model: {text}\n   reference: {answer}");
}

/// <summary>Recipe settings; every default is overridable with --key value or --key=value.</summary>
internal sealed record Config
{
    public string LogPath { get; init; } = "runs/sl-loop";                     // metrics.jsonl, checkpoints.jsonl
    public string? BaseUrl { get; init; }                                      // null = embedded engine
    public string Model { get; init; } = "tinkerflow/tiny-qwen3";              // base model
    public string DataPath { get; init; } = Path.Combine(AppContext.BaseDirectory, "data", "tiny_chat.jsonl");
    public int MaxSteps { get; init; } = 120;                                  // optimizer steps
    public int BatchSize { get; init; } = 32;                                  // conversations per step
    public double LearningRate { get; init; } = 2e-3;                          // peak LR, linear decay to 0
    public int LoraRank { get; init; } = 32;                                   // LoRA rank
    public int TestSize { get; init; } = 64;                                   // held-out conversations
    public int EvalEvery { get; init; } = 20;                                  // steps between test/nll
    public int SaveEvery { get; init; } = 40;                                  // steps between checkpoints
    public int Seed { get; init; } = 0;                                        // data order and LoRA init

    public static Config Parse(string[] args)
    {
        var config = new Config();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{arg}'; use --key value.");
            }

            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var key = eq > 0 ? arg[2..eq] : arg[2..];
            var value = eq > 0 ? arg[(eq + 1)..] : (i + 1 < args.Length ? args[++i] : throw new ArgumentException($"--{key} needs a value."));
            config = key.Replace('_', '-') switch
            {
                "log-path" => config with { LogPath = value },
                "base-url" => config with { BaseUrl = value },
                "model" => config with { Model = value },
                "data-path" => config with { DataPath = value },
                "max-steps" => config with { MaxSteps = int.Parse(value, CultureInfo.InvariantCulture) },
                "batch-size" => config with { BatchSize = int.Parse(value, CultureInfo.InvariantCulture) },
                "learning-rate" => config with { LearningRate = double.Parse(value, CultureInfo.InvariantCulture) },
                "lora-rank" => config with { LoraRank = int.Parse(value, CultureInfo.InvariantCulture) },
                "test-size" => config with { TestSize = int.Parse(value, CultureInfo.InvariantCulture) },
                "eval-every" => config with { EvalEvery = int.Parse(value, CultureInfo.InvariantCulture) },
                "save-every" => config with { SaveEvery = int.Parse(value, CultureInfo.InvariantCulture) },
                "seed" => config with { Seed = int.Parse(value, CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"Unknown option --{key}. Known: log-path, base-url, model, data-path, max-steps, batch-size, learning-rate, lora-rank, test-size, eval-every, save-every, seed."),
            };
        }

        return config;
    }
}
