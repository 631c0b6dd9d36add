// MathRl: reinforcement learning with verifiable rewards on two-digit addition (the C# counterpart of the cookbook's
// math_rl recipe with its arithmetic dataset), composed from library blocks: config → SFT warm-start (a
// SupervisedTrainer) → RlTrainer (one Dataflow graph: problems → admission with bounded staleness → groups of G answers
// on the latest sampler → group-centred advantages → TrainingStage with held-out evals and checkpoints as step barriers)
// → metric sinks → run. --mode sync trains fully on-policy (max staleness 0); --mode async lets sampling for later steps
// overlap training, bounded by --max-staleness.
//
//   dotnet run -c Release --project recipes/MathRl -- --log-path runs/math-rl [--mode sync|async] [--loss-fn ppo] [--max-steps 30] [--describe]
using System.Globalization;
using System.Reactive.Linq;
using TinkerFlow;
using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Recipes;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Cookbook.Trainers;
using TinkerFlow.Dataflow;
using TinkerFlow.Recipes.MathRl;
using TinkerFlow.Types;

var config = RecipeArgs.Parse(new Config(), args);
if (config.LossFn is not (LossFnType.ImportanceSampling or LossFnType.Ppo or LossFnType.Cispo))
{
    throw new ArgumentException($"--loss-fn must be importance_sampling, ppo or cispo, got '{config.LossFn}'.");
}

Console.WriteLine($"MathRl config: {RecipeArgs.Describe(config)}");
var started = DateTime.UtcNow;
await using var service = new ServiceClient(RecipeArgs.ClientOptions(config.BaseUrl));
var tokenizer = await (await service.CreateSamplingClientAsync(baseModel: config.Model)).GetTokenizerAsync();
var renderer = RendererFactory.Create(config.Renderer ?? RendererFactory.GetRecommendedRendererName(config.Model), tokenizer);
var testSet = ArithmeticProblem.TestSet(config.TestSize);
var exclude = testSet.ToHashSet();
var evaluator = new ArithmeticEvaluator(testSet, renderer, config.MaxTokens);

// ---- Start: resume from log_path, else RL starts from an SFT warm-start with a fresh optimizer (the base model knows
// "a+b=c" as plain text but not the chat template). The warm-start is a SupervisedTrainer of its own in log_path/warmstart.
var run = await TrainerRun.StartOrResumeAsync(service, config.LogPath, async () =>
{
    if (config.WarmStartSteps == 0 || config.Describe) // --describe only prints the graph: no warm-start
    {
        return await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed);
    }

    var warmPath = Path.Combine(config.LogPath, "warmstart");
    var warm = await TrainerRun.StartOrResumeAsync(service, warmPath, () => service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed));
    var sft = new SupervisedTrainer(warm, new WarmStartDataset(renderer, config.Seed, config.WarmStartSteps, config.WarmStartBatchSize, exclude), new SupervisedTrainerOptions
    {
        LogPath = warmPath,
        MaxSteps = config.WarmStartSteps,
        LearningRate = new LrSchedule(LrScheduleKind.Linear, config.WarmStartLearningRate, config.WarmStartSteps),
        Batching = new DatumBatcherOptions { MaxItems = config.WarmStartBatchSize },
        Checkpoints = new CheckpointOptions { SaveEvery = 0 },
    });
    using (sft.Metrics.Subscribe(new JsonlMetricsWriter(Path.Combine(warmPath, "metrics.jsonl"))))
    using (sft.Metrics.Sample(TimeSpan.FromSeconds(2)).Subscribe(r => Console.WriteLine($"warm-start step {r.Step}: train_mean_nll={r.Get(MetricNames.TrainNll):F3}")))
    {
        await sft.RunAsync();
    }

    return await service.CreateTrainingClientFromStateAsync(CheckpointLog.GetLastCheckpoint(warmPath)!.StatePath!);
});
Console.WriteLine(run);

// ---- The trainer: G answers per problem on the latest sampler, graded by the env; problems and seeds are functions
// of the step, so a resumed run samples the same ones.
var sampling = new SamplingParams { MaxTokens = config.MaxTokens, Temperature = config.Temperature, Stop = renderer.GetStopSequences() };
var trainer = new RlTrainer<ArithmeticProblem>(
    run,
    await run.Client.SaveWeightsAndGetSamplingClientAsync(),
    step => ArithmeticProblem.ForStep(config.Seed, step, config.GroupsPerBatch, exclude),
    async (sampler, problem, step, index, ct) =>
    {
        var env = new ArithmeticEnv(problem, renderer, config.FormatCoef);
        var observation = env.InitialObservation();
        var seed = ((long)config.Seed * 1_000_003) + (step * 1_000L) + index;
        var response = await sampler.SampleAsync(WaitUntil.Completed, observation, config.GroupSize, sampling with { Seed = seed }, cancellationToken: ct);
        return new TrajectoryGroup([.. response.Value.Sequences.Select(seq => new Trajectory([env.Step(observation, TokensWithLogprobs.FromSampledSequence(seq))]))]);
    },
    new RlTrainerOptions
    {
        LogPath = config.LogPath,
        MaxSteps = config.MaxSteps,
        GroupsPerBatch = config.GroupsPerBatch,
        MaxStaleness = config.Mode == RlMode.Sync ? 0 : config.MaxStaleness,
        Loss = TrainingLoss.BuiltIn(config.LossFn),
        LearningRate = new LrSchedule(LrScheduleKind.Constant, config.LearningRate, config.MaxSteps),
        Evaluations = [new SamplerEvaluation("test/env/all/correct (greedy)", async (s, ct) => (await evaluator.EvaluateAsync(s, ct)).ToMetrics("test"))],
        EvalEvery = config.EvalEvery,
        Checkpoints = new CheckpointOptions { SaveEvery = config.SaveEvery },
    });
if (config.Describe)
{
    Console.WriteLine(trainer.Describe($"two-digit additions ({config.GroupSize} answers per problem, {config.TestSize} held out)"));
    return;
}

// ---- Sinks on the one metric stream: metrics.jsonl (a resumed run first drops the rows it redoes) and the console.
var metricsPath = Path.Combine(config.LogPath, "metrics.jsonl");
var earlier = JsonlMetricsReader.KeepStepsBefore(metricsPath, run.State.Step);
var correct = new List<double>();
using var view = new ConsoleMetricsView(new ConsoleMetricsViewOptions
{
    Title = $"math-rl {config.Mode.ToString().ToLowerInvariant()}",
    TotalSteps = config.MaxSteps,
    ShownMetrics = ["env/all/reward/total", "env/all/correct", "test/env/all/correct", RlMetricNames.KlSampleTrainV1, MetricNames.RlStalenessMax, MetricNames.TimeStep],
});
using var jsonl = trainer.Metrics.Subscribe(new JsonlMetricsWriter(metricsPath));
using var live = trainer.Metrics.Where(r => r.Step < config.MaxSteps).Subscribe(view);
using var summary = earlier.ToObservable().Concat(trainer.Metrics).Values("test/env/all/correct").Subscribe(v => correct.Add(v.Value));

await trainer.RunAsync();
await view.Completion;
Console.WriteLine($"Done in {(DateTime.UtcNow - started).TotalSeconds:F0} s; test/env/all/correct {string.Join(" → ", correct.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))}; logs in {config.LogPath}");
