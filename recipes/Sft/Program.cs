// Sft: chat supervised fine-tuning (the C# counterpart of the cookbook's chat_sl recipe) as a composition of library
// blocks: config → data → SupervisedTrainer (one Dataflow graph: dataset → DatumBatcher → TrainingStage with test/nll
// and checkpoints at step boundaries) → metric sinks composed with Rx → run → a few sampled answers.
//
//   dotnet run -c Release --project recipes/Sft -- --log-path runs/sft [--max-steps 240] [--base-url URL] [--model NAME] [--describe]
using System.Globalization;
using System.Reactive.Linq;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Evaluation;
using TinkerFlow.Cookbook.Recipes;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Trainers;
using TinkerFlow.Dataflow;
using TinkerFlow.Types;

namespace TinkerFlow.Recipes.Sft;

/// <summary>Recipe settings; every default can be overridden with <c>--key value</c> (kebab-case property name).</summary>
internal sealed record Config
{
    public string LogPath { get; init; } = "runs/sft";                        // metrics.jsonl, checkpoints.jsonl, plots
    public string? BaseUrl { get; init; }                                     // null = embedded engine
    public string Model { get; init; } = "tinkerflow/tiny-qwen3";             // base model
    public string? Renderer { get; init; }                                    // null = recommended for the model (qwen3)
    public string DataPath { get; init; } = Path.Combine(AppContext.BaseDirectory, "data", "tiny_chat.jsonl");
    public int TestSize { get; init; } = 64;                                  // held-out conversations (test/nll)
    public int MaxSteps { get; init; } = 240;                                 // optimizer steps (~2 epochs; epochs wrap)
    public int BatchSize { get; init; } = 32;                                 // conversations per step (DatumBatcher max items)
    public int MaxBatchTokens { get; init; } = 500_000;                       // DatumBatcher max tokens per step
    public double LearningRate { get; init; } = 2e-3;                         // peak LR
    public LrScheduleKind LrSchedule { get; init; } = LrScheduleKind.Linear;  // decays over max-steps
    public int LoraRank { get; init; } = 32;                                  // LoRA rank
    public int SubmitAhead { get; init; } = 1;                                // steps queued beyond the running one (0 = none)
    public int EvalEvery { get; init; } = 40;                                 // steps between test/nll evaluations (0 = end only)
    public int SaveEvery { get; init; } = 80;                                 // steps between checkpoints (0 = final only)
    public int NumSamples { get; init; } = 4;                                 // held-out answers sampled at the end
    public int Seed { get; init; } = 0;                                       // train/test split and LoRA init
    public bool Describe { get; init; }                                       // print the training graph and exit
}

internal static class Program
{
    public static async Task Main(string[] args)
    {
        var config = RecipeArgs.Parse(new Config(), args);
        Console.WriteLine($"Sft config: {RecipeArgs.Describe(config)}");
        var started = DateTime.UtcNow;

        // ---- Clients, and the run: fresh, or resumed from log_path (weights, optimizer, data cursor).
        await using var service = new ServiceClient(RecipeArgs.ClientOptions(config.BaseUrl));
        var run = await TrainerRun.StartOrResumeAsync(service, config.LogPath, () => service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed));
        Console.WriteLine(run);

        // ---- Data: chat JSONL → renderer tokens, loss on assistant messages, per-example mean weights.
        var renderer = RendererFactory.Create(config.Renderer ?? RendererFactory.GetRecommendedRendererName(config.Model), await run.Client.GetTokenizerAsync());
        var (train, test) = new ConversationFileBuilder { FilePath = config.DataPath, BatchSize = config.BatchSize, TestSize = config.TestSize, ShuffleSeed = config.Seed }.Build(renderer);

        // ---- The trainer: one graph, evaluations and checkpoints at step boundaries inside it.
        var trainer = new SupervisedTrainer(run, train, new SupervisedTrainerOptions
        {
            LogPath = config.LogPath,
            MaxSteps = config.MaxSteps,
            LearningRate = new LrSchedule(config.LrSchedule, config.LearningRate, config.MaxSteps),
            SubmitAhead = config.SubmitAhead,
            Batching = new DatumBatcherOptions { MaxItems = config.BatchSize, MaxTokens = config.MaxBatchTokens },
            Evaluations = test is null ? [] : [NllEvaluator.FromDataset(test, renderer).AsEvaluation()],
            EvalEvery = config.EvalEvery,
            Checkpoints = new() { SaveEvery = config.SaveEvery },
        });
        if (config.Describe)
        {
            Console.WriteLine(trainer.Describe($"{Path.GetFileName(config.DataPath)}: {train.Conversations.Count} train conversations, {train.Count} batches per epoch, reshuffled each epoch"));
            return;
        }

        Console.WriteLine($"{train.Conversations.Count} train / {test?.Conversations.Count ?? 0} test conversations, {train.Count} batches per epoch, renderer {renderer.Name}");

        // ---- Sinks, composed with Rx on the trainer's one metric stream. A resumed run keeps the rows before its
        // checkpoint and replays them into the plots, so plots cover the whole run.
        var metricsPath = Path.Combine(config.LogPath, "metrics.jsonl");
        var earlier = JsonlMetricsReader.KeepStepsBefore(metricsPath, run.State.Step);
        var metrics = trainer.Metrics.Publish();
        var plots = new MetricPlotWriter(config.LogPath, [MetricNames.TestNll, MetricNames.TrainNll]);
        using var view = new ConsoleMetricsView(new ConsoleMetricsViewOptions
        {
            Title = "sft",
            TotalSteps = config.MaxSteps,
            ShownMetrics = [MetricNames.TrainNll, MetricNames.TestNll, MetricNames.TestBpb, MetricNames.OptimLr, MetricNames.TimeStep, MetricNames.Epoch],
        });
        var testNll = new List<double>();
        using var sinks = new System.Reactive.Disposables.CompositeDisposable(
            metrics.Subscribe(new JsonlMetricsWriter(metricsPath)),
            earlier.ToObservable().Concat(metrics).Subscribe(plots),
            metrics.Where(r => r.Step < config.MaxSteps).Subscribe(view),
            earlier.ToObservable().Concat(metrics).Values(MetricNames.TestNll).Subscribe(v => testNll.Add(v.Value)),
            metrics.Connect());

        await trainer.RunAsync(); // closes metrics.jsonl, writes test_nll.png and train_mean_nll.png, ends the live view
        await view.Completion;

        // ---- What the model says now: greedy answers to a few held-out questions.
        var sampler = await run.Client.SaveWeightsAndGetSamplingClientAsync();
        var greedy = new SamplingParams { MaxTokens = 48, Temperature = 0, Stop = renderer.GetStopSequences() };
        foreach (var conversation in (test ?? train).Conversations.Take(config.NumSamples))
        {
            var prompt = renderer.BuildGenerationPrompt(conversation.Take(conversation.Count - 1).ToList());
            var result = await sampler.SampleAsync(WaitUntil.Completed, prompt, 1, greedy);
            var (answer, _) = renderer.ParseResponse(result.Value.Sequences[0].Tokens);
            Console.WriteLine($"Q: {conversation[^2].Content}\n   model: {answer.Content}\n   reference: {conversation[^1].Content}");
        }

        Console.WriteLine($"Done in {(DateTime.UtcNow - started).TotalSeconds:F0} s; test/nll {string.Join(" → ", testNll.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)))}; logs in {config.LogPath}");
    }
}
