// RlLoop: GRPO as one flat loop against the raw Tinker clients (the C# twin of the cookbook's rl_loop.py).
// Read it top to bottom: config → clients → (resume | SFT warm-start) → per step: new sampler, G samples per prompt,
// reward = exact match, advantage = reward − group mean, importance_sampling step → final checkpoint.
//
// Why a warm-start: the built-in model learned "a+b=c" lines as plain text but has never seen the chat template.
// Asked "What is 15+89?" in chat format it answers a well-formed sum of *other* numbers ("53+29=82"), so every reward
// is 0 and GRPO has nothing to learn from. A short SFT stage on chat arithmetic (same file, same training client)
// teaches it to copy the question's numbers; RL then sharpens exact-match accuracy.
//
//   dotnet run -c Release --project recipes/RlLoop -- --log-path runs/rl-loop [--max-steps 20] [--base-url URL] [--model NAME]
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TinkerFlow.Cookbook.Recipes;
using TinkerFlow.Types;

namespace TinkerFlow.Recipes.RlLoop;

/// <summary>Recipe settings; every default can be overridden with <c>--key value</c> (kebab-case property name).</summary>
internal sealed record Config
{
    public string LogPath { get; init; } = "runs/rl-loop";              // metrics.jsonl, checkpoints.jsonl
    public string? BaseUrl { get; init; }                               // null = embedded engine
    public string Model { get; init; } = "tinkerflow/tiny-qwen3";       // base model
    public int MaxSteps { get; init; } = 20;                            // RL steps
    public int BatchSize { get; init; } = 16;                           // prompts per RL step (groups)
    public int GroupSize { get; init; } = 8;                            // samples per prompt (G)
    public double LearningRate { get; init; } = 1e-4;                   // RL LR; tiny models collapse at >= 3e-4
    public int MaxTokens { get; init; } = 16;                           // "99+99=198<|im_end|>" is 10 tokens
    public int LoraRank { get; init; } = 32;                            // LoRA rank
    public int WarmStartSteps { get; init; } = 80;                      // SFT steps before RL on a fresh run (0 = none)
    public int WarmStartBatchSize { get; init; } = 32;                  // chat examples per SFT step
    public double WarmStartLearningRate { get; init; } = 2e-3;          // SFT peak LR, linear decay
    public int SaveEvery { get; init; } = 10;                           // RL steps between checkpoints
    public int Seed { get; init; } = 0;                                 // prompts, sampling seeds, LoRA init
}

internal static class Program
{
    public static async Task Main(string[] args)
    {
        var config = RecipeArgs.Parse(new Config(), args);
        Console.WriteLine($"RlLoop config: {RecipeArgs.Describe(config)}");
        Directory.CreateDirectory(config.LogPath);

        // ---- Clients: the embedded engine by default, a Tinker service with --base-url.
        var options = new TinkerClientOptions();
        if (config.BaseUrl is not null)
        {
            options.BaseUrl = new Uri(config.BaseUrl);
        }

        await using var service = new ServiceClient(options);

        // ---- Resume from the last checkpoint in log_path, if any (it already includes the warm-start).
        var checkpointsFile = Path.Combine(config.LogPath, "checkpoints.jsonl");
        var resume = File.Exists(checkpointsFile)
            ? File.ReadLines(checkpointsFile).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!).LastOrDefault()
            : null;
        var training = resume is null
            ? await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed)
            : await service.CreateTrainingClientFromStateWithOptimizerAsync((string)resume["state_path"]!);
        var startStep = resume is null ? 0 : (int)resume["step"]!;
        Console.WriteLine(resume is null ? $"Training run {training.ModelId}" : $"Resumed {training.ModelId} at RL step {startStep}");
        var tokenizer = await training.GetTokenizerAsync();

        // ---- The task: two-digit addition in chat format; the answer must be exactly "a+b=c".
        var imEnd = tokenizer.TokenToId("<|im_end|>") ?? throw new InvalidOperationException("The tokenizer has no <|im_end|>.");
        IReadOnlyList<int> Prompt(int a, int b) => tokenizer.Encode($"<|im_start|>user\nWhat is {a}+{b}?<|im_end|>\n<|im_start|>assistant\n");
        static (int A, int B)[] Problems(int seed, int step, int count)
        {
            var rng = new Random((seed * 1_000_003) + step); // a pure function of (seed, step): resume sees the same prompts
            return [.. Enumerable.Range(0, count).Select(_ => (rng.Next(10, 100), rng.Next(10, 100)))];
        }

        // ---- Warm-start (fresh runs only): cross_entropy on the answer tokens, then RL continues on the same client.
        if (resume is null)
        {
            for (var step = 0; step < config.WarmStartSteps; step++)
            {
                var batch = Problems(config.Seed, -1 - step, config.WarmStartBatchSize).Select(p =>
                {
                    var prompt = Prompt(p.A, p.B);
                    var answer = tokenizer.Encode($"{p.A}+{p.B}={p.A + p.B}<|im_end|>");
                    int[] tokens = [.. prompt, .. answer];
                    float[] weights = [.. Enumerable.Repeat(0f, prompt.Count), .. Enumerable.Repeat(1f, answer.Count)];
                    return Datum.Create(ModelInput.FromInts(tokens[..^1]), new Dictionary<string, object> { ["target_tokens"] = tokens[1..], ["weights"] = weights[1..] });
                }).ToList();
                var lr = config.WarmStartLearningRate * (1 - ((double)step / config.WarmStartSteps));
                var fb = await training.ForwardBackwardAsync(WaitUntil.Started, batch, LossFnType.CrossEntropy);
                var optim = await training.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = lr });
                var output = await fb;
                await optim;
                double nll = 0, count = 0;
                for (var i = 0; i < batch.Count; i++)
                {
                    var lp = output.LossFnOutputs[i]["logprobs"].ToFloat32Array();
                    var w = batch[i].LossFnInputs["weights"].ToFloat32Array();
                    nll -= lp.Select((l, t) => l * w[t]).Sum();
                    count += w.Sum();
                }

                if (step % 10 == 0 || step == config.WarmStartSteps - 1)
                {
                    Console.WriteLine($"warm-start step {step}: train_mean_nll={nll / count:F3} lr={lr:G3}");
                }
            }
        }

        // ---- The RL loop.
        var metricsFile = Path.Combine(config.LogPath, "metrics.jsonl");
        var samplingParams = new SamplingParams { MaxTokens = config.MaxTokens, Temperature = 1.0, Stop = new[] { imEnd } };
        for (var step = startStep; step < config.MaxSteps; step++)
        {
            var started = DateTime.UtcNow;

            // A new sampler on the current weights, then every prompt's sample(num_samples=G) submitted before any is awaited.
            var sampler = await training.SaveWeightsAndGetSamplingClientAsync();
            var problems_P = Problems(config.Seed, step, config.BatchSize);
            var prompts_P = problems_P.Select(p => Prompt(p.A, p.B)).ToArray();
            var futures_P = new List<TinkerFuture<SampleResponse>>();
            for (var p = 0; p < problems_P.Length; p++)
            {
                var seeded = samplingParams with { Seed = (step * 1000L) + p + ((long)config.Seed << 32) };
                futures_P.Add(await sampler.SampleAsync(WaitUntil.Started, ModelInput.FromInts(prompts_P[p]), config.GroupSize, seeded));
            }

            var datums_D = new List<Datum>();
            var allRewards = new List<double>();
            var skippedGroups = 0;
            for (var p = 0; p < problems_P.Length; p++)
            {
                var sequences_G = (await futures_P[p]).Sequences;
                var (a, b) = problems_P[p];
                var reference = $"{a}+{b}={a + b}";

                // Reward: 1 for exactly the reference answer ending with <|im_end|>, else 0.
                var rewards_G = sequences_G.Select(s =>
                    s.Tokens.Count > 0 && s.Tokens[^1] == imEnd && tokenizer.Decode(s.Tokens.Take(s.Tokens.Count - 1)).Trim() == reference ? 1.0 : 0.0).ToArray();
                allRewards.AddRange(rewards_G);
                var mean = rewards_G.Average();
                var advantages_G = rewards_G.Select(r => r - mean).ToArray();
                if (advantages_G.All(x => x == 0))
                {
                    skippedGroups++; // all right or all wrong: no signal
                    continue;
                }

                for (var g = 0; g < sequences_G.Count; g++)
                {
                    // Prompt + completion, shifted by one. Sampler logprobs and advantages are 0 on the prompt.
                    var completion = sequences_G[g].Tokens;
                    int[] tokens_T = [.. prompts_P[p], .. completion];
                    var prompt = prompts_P[p].Count;
                    float[] logprobs_T = [.. Enumerable.Repeat(0f, prompt - 1), .. sequences_G[g].Logprobs!.Select(x => (float)x)];
                    float[] advantages_T = [.. Enumerable.Repeat(0f, prompt - 1), .. Enumerable.Repeat((float)advantages_G[g], completion.Count)];
                    datums_D.Add(Datum.Create(
                        ModelInput.FromInts(tokens_T[..^1]),
                        new Dictionary<string, object> { ["target_tokens"] = tokens_T[1..], ["logprobs"] = logprobs_T, ["advantages"] = advantages_T }));
                }
            }

            // forward_backward and optim_step submitted back to back, then both awaited.
            if (datums_D.Count > 0)
            {
                var fb = await training.ForwardBackwardAsync(WaitUntil.Started, datums_D, LossFnType.ImportanceSampling);
                var optim = await training.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = config.LearningRate });
                await fb;
                await optim;
            }

            var metrics = new Dictionary<string, double>
            {
                ["step"] = step,
                ["env/all/reward/total"] = allRewards.Average(),
                ["env/all/by_group/frac_mixed"] = 1 - ((double)skippedGroups / problems_P.Length),
                ["train/num_datums"] = datums_D.Count,
                ["optim/lr"] = config.LearningRate,
                ["time/step"] = (DateTime.UtcNow - started).TotalSeconds,
            };
            File.AppendAllText(metricsFile, JsonSerializer.Serialize(metrics) + "\n");
            Console.WriteLine(string.Join("  ", metrics.Select(kv => $"{kv.Key}={kv.Value.ToString("G4", CultureInfo.InvariantCulture)}")));

            if ((step + 1) % config.SaveEvery == 0 || step + 1 == config.MaxSteps)
            {
                var name = $"rl-{step + 1:D6}";
                var state = await training.SaveStateAsync(WaitUntil.Completed, name);
                var record = new JsonObject { ["name"] = name, ["step"] = step + 1, ["final"] = step + 1 == config.MaxSteps, ["state_path"] = state.Value.Path };
                File.AppendAllText(checkpointsFile, record.ToJsonString() + "\n");
            }
        }
    }
}
