// MathRl: reinforcement learning with verifiable rewards on two-digit addition (the C# counterpart of the cookbook's
// math_rl recipe with its arithmetic dataset). GRPO-style groups: G answers per problem, reward from the grader,
// advantage = reward − group mean, constant groups dropped, a policy-gradient loss (importance_sampling, ppo or cispo).
// Two modes: sync (sample → train → new sampler, fully on-policy) and async (the Dataflow RlPipeline: sampling for
// later steps overlaps training, bounded by --max-staleness through admission control).
// Reads top to bottom: config → clients → resume or SFT warm-start → RL loop → final eval.
//
//   dotnet run -c Release --project recipes/MathRl -- --log-path runs/math-rl [--mode sync|async] [--loss-fn ppo] [--max-steps 30]
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Tasks.Dataflow;
using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Recipes;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Dataflow;
using TinkerFlow.Types;

namespace TinkerFlow.Recipes.MathRl;

/// <summary>Recipe settings; every default can be overridden with <c>--key value</c> (kebab-case property name).</summary>
internal sealed record Config
{
    public string LogPath { get; init; } = "runs/math-rl";                  // metrics.jsonl, checkpoints.jsonl, warmstart/
    public string? BaseUrl { get; init; }                                   // null = embedded engine
    public string Model { get; init; } = "tinkerflow/tiny-qwen3";           // base model
    public string? Renderer { get; init; }                                  // null = recommended for the model (qwen3)
    public RlMode Mode { get; init; } = RlMode.Sync;                        // sync = on-policy; async = RlPipeline
    public string LossFn { get; init; } = LossFnType.ImportanceSampling;    // importance_sampling | ppo | cispo
    public int MaxStaleness { get; init; } = 1;                             // async: max steps a rollout's sampler may lag
    public int MaxSteps { get; init; } = 30;                                // RL optimizer steps
    public int GroupsPerBatch { get; init; } = 16;                          // problems per step
    public int GroupSize { get; init; } = 8;                                // answers sampled per problem (G)
    public double LearningRate { get; init; } = 1e-4;                       // constant; RL collapses at >= 3e-4 (engine-notes §4)
    public int LoraRank { get; init; } = 32;                                // LoRA rank
    public int MaxTokens { get; init; } = 16;                               // "99+99=198" + <|im_end|> is 10 tokens
    public double Temperature { get; init; } = 1.0;                         // sampling temperature of rollouts
    public double FormatCoef { get; init; } = 0.1;                          // reward = correct + coef·(format − 1)
    public int TestSize { get; init; } = 100;                               // fixed held-out problems (greedy)
    public int EvalEvery { get; init; } = 5;                                // steps between test evals (and step 0, and the end)
    public int SaveEvery { get; init; } = 10;                               // steps between checkpoints (0 = final only)
    public int WarmStartSteps { get; init; } = 80;                          // SFT steps on chat arithmetic first (0 = none)
    public int WarmStartBatchSize { get; init; } = 32;                      // conversations per warm-start step
    public double WarmStartLearningRate { get; init; } = 2e-3;              // warm-start peak LR, linear decay
    public int Seed { get; init; } = 0;                                     // problems, sampling seeds, LoRA init
}

/// <summary>How sampling and training are scheduled.</summary>
internal enum RlMode
{
    Sync,
    Async,
}

internal static class Program
{
    public static async Task Main(string[] args)
    {
        var config = RecipeArgs.Parse(new Config(), args);
        if (config.LossFn is not (LossFnType.ImportanceSampling or LossFnType.Ppo or LossFnType.Cispo))
        {
            throw new ArgumentException($"--loss-fn must be importance_sampling, ppo or cispo, got '{config.LossFn}'.");
        }

        Console.WriteLine($"MathRl config: {RecipeArgs.Describe(config)}");
        Directory.CreateDirectory(config.LogPath);
        var started = DateTime.UtcNow;

        // ---- Clients, renderer, the fixed held-out set.
        var options = new TinkerClientOptions();
        if (config.BaseUrl is not null)
        {
            options.BaseUrl = new Uri(config.BaseUrl);
        }

        await using var service = new ServiceClient(options);
        var tokenizer = await (await service.CreateSamplingClientAsync(baseModel: config.Model)).GetTokenizerAsync();
        var renderer = RendererFactory.Create(config.Renderer ?? RendererFactory.GetRecommendedRendererName(config.Model), tokenizer);
        var testSet = ArithmeticProblem.TestSet(config.TestSize);
        var exclude = testSet.ToHashSet();
        var evaluator = new ArithmeticEvaluator(testSet, renderer, config.MaxTokens);

        // ---- Resume from log_path; otherwise start from an SFT warm-start. The base model knows "a+b=c" as plain
        // text but has never seen the chat template, so it earns ~no reward in chat format; a few SFT steps on chat
        // arithmetic teach the format (logged in log_path/warmstart/), and RL starts from those weights with a fresh
        // optimizer (the cookbook's load_checkpoint_path).
        var resume = CheckpointLog.GetLastCheckpoint(config.LogPath);
        TrainingClient training;
        if (resume is not null)
        {
            training = await service.CreateTrainingClientFromStateWithOptimizerAsync(resume.StatePath!);
            Console.WriteLine($"Resumed {training.ModelId} from '{resume.Name}' at step {resume.Step}");
        }
        else if (config.WarmStartSteps > 0)
        {
            var warmStart = CheckpointLog.GetLastCheckpoint(Path.Combine(config.LogPath, "warmstart")) is { Final: true } done
                ? done.StatePath!
                : await WarmStartAsync();
            training = await service.CreateTrainingClientFromStateAsync(warmStart);
        }
        else
        {
            training = await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed);
        }

        var startStep = resume?.Step ?? 0;
        var checkpoints = new CheckpointManager(training, config.LogPath, new CheckpointOptions { SaveEvery = config.SaveEvery });
        var adam = new AdamParams { LearningRate = config.LearningRate };
        var sampling = new SamplingParams { MaxTokens = config.MaxTokens, Temperature = config.Temperature, Stop = renderer.GetStopSequences() };

        // ---- Metrics: one row per step in metrics.jsonl (test/* rows merged in at eval steps) and on the console.
        var metricsPath = Path.Combine(config.LogPath, "metrics.jsonl");
        KeepRowsBefore(metricsPath, startStep);
        using var jsonl = new JsonlMetricsWriter(metricsPath);
        using var view = new ConsoleMetricsView(new ConsoleMetricsViewOptions
        {
            Title = $"math-rl {config.Mode.ToString().ToLowerInvariant()}",
            TotalSteps = config.MaxSteps,
            ShownMetrics = ["env/all/reward/total", "env/all/correct", "test/env/all/correct", "optim/kl_sample_train_v1", "sampling_client/step_max", "time/step"],
        });
        void Log(int step, Dictionary<string, double> row, bool live = true)
        {
            row["progress/done_frac"] = Math.Min(1, step / (double)config.MaxSteps);
            row["time/total"] = (DateTime.UtcNow - started).TotalSeconds;
            var record = new MetricRecord(step, row, DateTimeOffset.UtcNow);
            jsonl.OnNext(record);
            if (live)
            {
                view.OnNext(record);
            }
        }

        var sampler = await training.SaveWeightsAndGetSamplingClientAsync();
        var pendingTest = new Dictionary<int, IReadOnlyDictionary<string, double>>(); // test metrics waiting for their step's row
        bool EvalDue(int step) => config.EvalEvery > 0 && step % config.EvalEvery == 0;

        if (config.Mode == RlMode.Sync)
        {
            // ---- Sync: eval if due → sample every group on the current sampler → train → new sampler.
            for (var step = startStep; step < config.MaxSteps; step++)
            {
                if (step > startStep)
                {
                    await checkpoints.MaybeSaveAsync(new LoopState(0, step, step));
                }

                var row = new Dictionary<string, double>();
                if (EvalDue(step))
                {
                    Merge(row, await EvaluateAsync(sampler));
                }

                var stepStarted = DateTime.UtcNow;
                var problems_P = ArithmeticProblem.ForStep(config.Seed, step, config.GroupsPerBatch, exclude);
                var groups_P = await Task.WhenAll(problems_P.Select((p, i) => RunGroupAsync(sampler, p, step, i, CancellationToken.None)));
                row["time/sample"] = (DateTime.UtcNow - stepStarted).TotalSeconds;

                var datums_D = BuildDatums(groups_P);
                var fb = await training.ForwardBackwardAsync(WaitUntil.Started, [.. datums_D.Select(d => d.Datum)], config.LossFn);
                var optim = await training.OptimStepAsync(WaitUntil.Started, adam);
                var output = await fb;
                await optim;
                sampler = await training.SaveWeightsAndGetSamplingClientAsync();

                Merge(row, EnvMetrics(groups_P));
                Merge(row, KlMetrics.Compute(datums_D, output));
                row["train/num_datums"] = datums_D.Count;
                row["optim/lr"] = adam.LearningRate;
                row["sampling_client/step_max"] = 0; // on-policy: every rollout used the latest weights
                row["sampling_client/step_mean"] = 0;
                row["time/step"] = (DateTime.UtcNow - stepStarted).TotalSeconds;
                Log(step, row);
            }
        }
        else
        {
            // ---- Async: the RlPipeline admits a problem for step s only once the latest sampler is at most
            // max_staleness steps behind s, runs it on that sampler, and trains finished groups oldest first. It runs in
            // segments between checkpoints, so every checkpoint holds the weights of exactly its step.
            var step = startStep;
            while (step < config.MaxSteps)
            {
                var segmentStart = step;
                var segmentEnd = config.SaveEvery > 0 ? Math.Min(config.MaxSteps, ((step / config.SaveEvery) + 1) * config.SaveEvery) : config.MaxSteps;
                if (EvalDue(segmentStart))
                {
                    pendingTest[segmentStart] = await EvaluateAsync(sampler);
                }

                var masks = new ConditionalWeakTable<Datum, float[]>(); // action masks stay on the client, for the KL metrics
                using var stop = new CancellationTokenSource();
                var rl = new RlPipeline<(ArithmeticProblem Problem, int Step, int Index), TrajectoryGroup>(
                    training,
                    sampler,
                    rollout: (s, _, item, ct) => RunGroupAsync(s, item.Problem, item.Step, item.Index, ct),
                    buildDatums: groups_P =>
                    {
                        var datums_D = BuildDatums(groups_P);
                        foreach (var d in datums_D)
                        {
                            masks.AddOrUpdate(d.Datum, d.Mask);
                        }

                        return [.. datums_D.Select(d => d.Datum)];
                    },
                    new RlPipelineOptions
                    {
                        RolloutsPerStep = config.GroupsPerBatch,
                        MaxStaleness = config.MaxStaleness,
                        Training = new TrainingStageOptions { Loss = TrainingLoss.BuiltIn(config.LossFn), AdamParams = _ => adam, TotalSteps = segmentEnd - segmentStart },
                        CancellationToken = stop.Token,
                    });

                var consumer = Task.Run(async () =>
                {
                    try
                    {
                        while (await rl.Output.OutputAvailableAsync())
                        {
                            var result = await rl.Output.ReceiveAsync();
                            var global = segmentStart + result.Train.Step;
                            var row = new Dictionary<string, double>();
                            if (pendingTest.Remove(global, out var test))
                            {
                                Merge(row, test);
                            }

                            var data = result.Train.Minibatches[0];
                            var datums_D = data.Select(d => new RlDatum(d, masks.TryGetValue(d, out var m) ? m : new float[d.LossFnInputs["target_tokens"].ToInt64Array().Length])).ToList();
                            Merge(row, EnvMetrics([.. result.Rollouts.Select(r => r.Rollout)]));
                            Merge(row, KlMetrics.Compute(datums_D, result.Train.ForwardBackward[0]));
                            row["train/num_datums"] = data.Count;
                            row["optim/lr"] = result.Train.AdamParams.LearningRate;
                            row["sampling_client/step_max"] = result.Rollouts.Max(r => r.Staleness); // version lag, <= max_staleness
                            row["sampling_client/step_mean"] = result.Rollouts.Average(r => r.Staleness);
                            row["time/step"] = result.Train.Elapsed.TotalSeconds;
                            Log(global, row);
                            sampler = result.Train.SamplingClient!;
                            if (EvalDue(global + 1) && global + 1 < segmentEnd) // the next segment evaluates its own start
                            {
                                pendingTest[global + 1] = await EvaluateAsync(sampler);
                            }
                        }
                    }
                    catch
                    {
                        await stop.CancelAsync();
                        throw;
                    }
                });

                for (var s = segmentStart; s < segmentEnd; s++)
                {
                    var problems_P = ArithmeticProblem.ForStep(config.Seed, s, config.GroupsPerBatch, exclude);
                    for (var i = 0; i < problems_P.Count; i++)
                    {
                        if (!await rl.Input.SendAsync((problems_P[i], s, i)))
                        {
                            break;
                        }
                    }
                }

                rl.Input.Complete();
                await Task.WhenAll(consumer, rl.Completion);
                step = segmentEnd;
                if (step < config.MaxSteps)
                {
                    await checkpoints.MaybeSaveAsync(new LoopState(0, step, step));
                }
            }
        }

        // ---- Final eval (a row of its own at step max_steps) and the final checkpoint.
        if (startStep < config.MaxSteps)
        {
            var final = new Dictionary<string, double>();
            Merge(final, await EvaluateAsync(sampler));
            Log(config.MaxSteps, final, live: false);
            await checkpoints.SaveFinalAsync(new LoopState(0, config.MaxSteps, config.MaxSteps));
        }

        view.OnCompleted();
        await view.Completion;
        jsonl.OnCompleted();
        var correct = ReadSeries(metricsPath, "test/env/all/correct");
        Console.WriteLine($"Done in {(DateTime.UtcNow - started).TotalSeconds:F0} s; test/env/all/correct {string.Join(" → ", correct.Select(v => v.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}; logs in {config.LogPath}");
        return;

        // One group: G answers to one problem from one sample call, graded by the env.
        async Task<TrajectoryGroup> RunGroupAsync(SamplingClient client, ArithmeticProblem problem, int step, int index, CancellationToken cancellationToken)
        {
            var env = new ArithmeticEnv(problem, renderer, config.FormatCoef);
            var observation = env.InitialObservation();
            var seed = ((long)config.Seed * 1_000_003) + (step * 1_000L) + index; // same samples after a resume
            var response = await client.SampleAsync(WaitUntil.Completed, observation, config.GroupSize, sampling with { Seed = seed }, cancellationToken: cancellationToken);
            var trajectories_G = response.Value.Sequences
                .Select(seq => new Trajectory([env.Step(observation, TokensWithLogprobs.FromSampledSequence(seq))]))
                .ToList();
            return new TrajectoryGroup(trajectories_G);
        }

        // Advantages within each group; groups whose rewards are all equal carry no signal and are dropped (one is
        // kept if all are constant, so the step still happens with zero gradient).
        static IReadOnlyList<RlDatum> BuildDatums(IReadOnlyList<TrajectoryGroup> groups_P) =>
            TrajectoryToDatum.FromGroups(ConstantRewardGroups.Remove(groups_P)).Datums;

        async Task<IReadOnlyDictionary<string, double>> EvaluateAsync(SamplingClient client)
        {
            var evalStarted = DateTime.UtcNow;
            var metrics = new Dictionary<string, double>((await evaluator.EvaluateAsync(client)).ToMetrics("test"))
            {
                ["time/eval"] = (DateTime.UtcNow - evalStarted).TotalSeconds,
            };
            return metrics;
        }

        // Warm-start: supervised steps on chat-format arithmetic (problems drawn from a stream the RL steps never use).
        async Task<string> WarmStartAsync()
        {
            var warmPath = Path.Combine(config.LogPath, "warmstart");
            var sft = await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed);
            using var warmMetrics = new JsonlMetricsWriter(Path.Combine(warmPath, "metrics.jsonl"), append: false);
            for (var step = 0; step < config.WarmStartSteps; step++)
            {
                var batch = ArithmeticProblem.ForStep(config.Seed, -1 - step, config.WarmStartBatchSize, exclude)
                    .Select(p => DatumBuilder.ConversationToDatum(renderer, [Message.User(p.Question), Message.Assistant(p.Answer)]))
                    .ToList();
                var lr = config.WarmStartLearningRate * (1 - (step / (double)config.WarmStartSteps));
                var fb = await sft.ForwardBackwardAsync(WaitUntil.Started, batch, LossFnType.CrossEntropy);
                var optim = await sft.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = lr });
                var nll = NllMetrics.MeanNll(await fb, batch);
                await optim;
                warmMetrics.OnNext(new MetricRecord(step, new Dictionary<string, double> { ["train_mean_nll"] = nll, ["optim/lr"] = lr }, DateTimeOffset.UtcNow));
                Console.WriteLine($"warm-start step {step}: train_mean_nll={nll:F3} lr={lr:G3}");
            }

            var saved = await sft.SaveStateAsync(WaitUntil.Completed, "warmstart");
            var done = new LoopState(0, config.WarmStartSteps, config.WarmStartSteps);
            await CheckpointLog.AppendAsync(warmPath, CheckpointRecord.FromLoopState("final", done, CheckpointKind.Final, saved.Value.Path, samplerPath: null));
            return saved.Value.Path;
        }
    }

    /// <summary>The cookbook's env/all/* metrics of a batch of groups.</summary>
    private static Dictionary<string, double> EnvMetrics(IReadOnlyList<TrajectoryGroup> groups_P)
    {
        var rewards_P_G = groups_P.Select(g => g.GetTotalRewards()).ToList();
        var transitions = groups_P.SelectMany(g => g.Trajectories).SelectMany(t => t.Transitions).ToList();
        return new Dictionary<string, double>
        {
            ["env/all/reward/total"] = rewards_P_G.SelectMany(r => r).Average(),
            ["env/all/correct"] = transitions.Average(t => t.Metrics!["correct"]),
            ["env/all/format"] = transitions.Average(t => t.Metrics!["format"]),
            ["env/all/ac_tokens_per_turn"] = transitions.Average(t => t.Action.Tokens.Count),
            ["env/all/total_episodes"] = transitions.Count,
            ["env/all/by_group/frac_mixed"] = rewards_P_G.Count(r => !ConstantRewardGroups.IsConstant(r)) / (double)groups_P.Count,
            ["env/all/by_group/frac_all_good"] = rewards_P_G.Count(r => r.All(x => x > 0.5)) / (double)groups_P.Count,
            ["env/all/by_group/frac_all_bad"] = rewards_P_G.Count(r => r.All(x => x <= 0.5)) / (double)groups_P.Count,
        };
    }

    private static void Merge(Dictionary<string, double> into, IReadOnlyDictionary<string, double> from)
    {
        foreach (var (key, value) in from)
        {
            into[key] = value;
        }
    }

    /// <summary>Drops the metrics.jsonl rows of steps a resumed run redoes (at or after its checkpoint).</summary>
    private static void KeepRowsBefore(string path, int step)
    {
        if (File.Exists(path))
        {
            File.WriteAllLines(path, File.ReadLines(path).Where(l => l.Length > 0 && JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64() < step).ToList());
        }
    }

    private static List<double> ReadSeries(string path, string name) =>
        [.. File.ReadLines(path).Where(l => l.Length > 0)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number)
            .Select(r => r.GetProperty(name).GetDouble())];
}
