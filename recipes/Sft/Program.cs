// Sft: chat supervised fine-tuning (the C# counterpart of the cookbook's chat_sl recipe), built from the library
// parts: Cookbook datasets, renderer, NllEvaluator and CheckpointManager, and the Dataflow TrainingStage, which keeps
// the next step submitted while the current one runs. Reads top to bottom: config → clients → resume → data →
// pipelined train/eval/save loop → plots → a few sampled answers.
//
//   dotnet run -c Release --project recipes/Sft -- --log-path runs/sft [--max-steps 240] [--base-url URL] [--model NAME]
using System.Reactive.Subjects;
using System.Text.Json;
using System.Threading.Tasks.Dataflow;
using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Evaluation;
using TinkerFlow.Cookbook.Hyperparameters;
using TinkerFlow.Cookbook.Recipes;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;
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
    public int BatchSize { get; init; } = 32;                                 // conversations per step
    public double LearningRate { get; init; } = 2e-3;                         // peak LR
    public LrScheduleKind LrSchedule { get; init; } = LrScheduleKind.Linear;  // decays over max-steps
    public int LoraRank { get; init; } = 32;                                  // LoRA rank
    public int SubmitAhead { get; init; } = 1;                                // steps queued beyond the running one (0 = none)
    public int EvalEvery { get; init; } = 40;                                 // steps between test/nll evaluations (0 = never)
    public int SaveEvery { get; init; } = 80;                                 // steps between checkpoints (0 = final only)
    public int NumSamples { get; init; } = 4;                                 // held-out answers sampled at the end
    public int Seed { get; init; } = 0;                                       // train/test split and LoRA init
}

internal static class Program
{
    public static async Task Main(string[] args)
    {
        var config = RecipeArgs.Parse(new Config(), args);
        Console.WriteLine($"Sft config: {RecipeArgs.Describe(config)}");
        Directory.CreateDirectory(config.LogPath);
        var started = DateTime.UtcNow;

        // ---- Clients: the embedded engine by default, a Tinker service with --base-url.
        var options = new TinkerClientOptions();
        if (config.BaseUrl is not null)
        {
            options.BaseUrl = new Uri(config.BaseUrl);
        }

        await using var service = new ServiceClient(options);

        // ---- Resume from the last checkpoint in log_path (weights + optimizer + data cursor), if any.
        var resume = CheckpointLog.GetLastCheckpoint(config.LogPath);
        var training = resume is null
            ? await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed)
            : await service.CreateTrainingClientFromStateWithOptimizerAsync(resume.StatePath!);
        var state = resume?.LoopState ?? LoopState.Start;
        var startStep = state.Step;
        Console.WriteLine(resume is null ? $"Training run {training.ModelId}" : $"Resumed {training.ModelId} from '{resume.Name}' at step {startStep}");

        // ---- Data: chat JSONL → renderer tokens, loss on assistant messages, per-example mean weights.
        var renderer = RendererFactory.Create(config.Renderer ?? RendererFactory.GetRecommendedRendererName(config.Model), await training.GetTokenizerAsync());
        var (train, test) = new ConversationFileBuilder
        {
            FilePath = config.DataPath,
            BatchSize = config.BatchSize,
            TestSize = config.TestSize,
            ShuffleSeed = config.Seed,
        }.Build(renderer);
        var evaluator = test is null ? null : NllEvaluator.FromDataset(test, renderer);
        var schedule = new LrSchedule(config.LrSchedule, config.LearningRate, config.MaxSteps);
        var checkpoints = new CheckpointManager(training, config.LogPath, new CheckpointOptions { SaveEvery = config.SaveEvery });
        Console.WriteLine($"{train.Conversations.Count} train / {test?.Conversations.Count ?? 0} test conversations, {train.Count} batches per epoch, renderer {renderer.Name}");

        // ---- Metrics: one record per step → metrics.jsonl, the console (live view on a terminal), PNG plots.
        var metricsPath = Path.Combine(config.LogPath, "metrics.jsonl");
        var earlier = KeepRowsBefore(metricsPath, startStep); // a resumed run rewrites the steps after its checkpoint
        var metrics = new Subject<MetricRecord>();
        var plots = new MetricPlotWriter(config.LogPath, ["test/nll", "train_mean_nll"]);
        earlier.ForEach(plots.OnNext);
        using var jsonl = new JsonlMetricsWriter(metricsPath);
        using var view = new ConsoleMetricsView(new ConsoleMetricsViewOptions
        {
            Title = "sft",
            TotalSteps = config.MaxSteps,
            ShownMetrics = ["train_mean_nll", "test/nll", "test/bpb", "optim/lr", "time/step", "epoch"],
        });
        using var subscriptions = new System.Reactive.Disposables.CompositeDisposable(metrics.Subscribe(jsonl), metrics.Subscribe(plots), metrics.Subscribe(view));

        // ---- The loop. The stage submits forward_backward + optim_step for step N+1 before step N's results are
        // awaited; results are logged as they arrive. Before an eval or a save every step sent so far must have
        // finished, so test/nll and checkpoints see the weights after exactly `step` steps (as in the cookbook,
        // evals run before the step's own training ops).
        var stage = new TrainingStage(training, new TrainingStageOptions
        {
            SubmitAhead = config.SubmitAhead,
            LossFn = LossFnType.CrossEntropy,
            AdamParams = s => new AdamParams { LearningRate = schedule.GetLr(startStep + s) },
            TotalSteps = Math.Max(1, config.MaxSteps - startStep),
        });
        var sent = new Queue<(LoopState State, Dictionary<string, double> Metrics)>();
        for (var step = startStep; step < config.MaxSteps; step++)
        {
            var evalDue = evaluator is not null && config.EvalEvery > 0 && step % config.EvalEvery == 0;
            var saveDue = step > startStep && checkpoints.KindDueAt(step) is not null;
            var stepMetrics = new Dictionary<string, double>();
            if (evalDue || saveDue)
            {
                while (sent.Count > 0)
                {
                    await LogNextAsync();
                }

                if (evalDue)
                {
                    foreach (var (key, value) in await evaluator!.EvaluateAsync(training))
                    {
                        stepMetrics[key] = value;
                    }
                }

                if (saveDue)
                {
                    await checkpoints.MaybeSaveAsync(state);
                }
            }

            train.SetEpoch(state.Epoch);
            var batch = train.GetBatch(state.Batch);
            stepMetrics["epoch"] = state.Epoch;
            stepMetrics["progress/batch"] = state.Batch;
            await stage.Input.SendAsync(batch);
            sent.Enqueue((state, stepMetrics));
            state = state.Advance(train.Count, batch.Sum(d => (long)d.ModelInput.Length));
            while (sent.Count > 1 + config.SubmitAhead)
            {
                await LogNextAsync();
            }
        }

        stage.Input.Complete();
        while (sent.Count > 0)
        {
            await LogNextAsync();
        }

        await stage.Completion;
        if (state.Step > startStep)
        {
            // The final weights: one more test/nll in a row of its own (step = max_steps; not shown live), and the
            // final checkpoint.
            if (evaluator is not null)
            {
                var final = new MetricRecord(state.Step, new Dictionary<string, double>(await evaluator.EvaluateAsync(training)), DateTimeOffset.UtcNow);
                earlier.Add(final);
                jsonl.OnNext(final);
                plots.OnNext(final);
            }

            await checkpoints.SaveFinalAsync(state);
        }

        metrics.OnCompleted(); // closes metrics.jsonl, writes test_nll.png and train_mean_nll.png, ends the live view
        await view.Completion;

        // ---- What the model says now: greedy answers to a few held-out questions.
        var sampler = await training.SaveWeightsAndGetSamplingClientAsync();
        var greedy = new SamplingParams { MaxTokens = 48, Temperature = 0, Stop = renderer.GetStopSequences() };
        foreach (var conversation in (test ?? train).Conversations.Take(config.NumSamples))
        {
            var prompt = renderer.BuildGenerationPrompt(conversation.Take(conversation.Count - 1).ToList());
            var result = await sampler.SampleAsync(WaitUntil.Completed, prompt, 1, greedy);
            var (answer, _) = renderer.ParseResponse(result.Value.Sequences[0].Tokens);
            Console.WriteLine($"Q: {conversation[^2].Content}\n   model: {answer.Content}\n   reference: {conversation[^1].Content}");
        }

        var nll = earlier.Select(r => r.Get("test/nll")).Where(v => v is not null).Select(v => v!.Value).ToList();
        Console.WriteLine($"Done: {state.Step} steps in {(DateTime.UtcNow - started).TotalSeconds:F0} s; test/nll {string.Join(" → ", nll.Select(v => v.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))}; logs in {config.LogPath}");
        return;

        // Receives the oldest outstanding step's result and publishes its metrics.
        async Task LogNextAsync()
        {
            if (!await stage.Output.OutputAvailableAsync())
            {
                await stage.Completion; // throws the stage's fault
                throw new InvalidOperationException("The training stage ended before every step was trained.");
            }

            var result = await stage.Output.ReceiveAsync();
            var (stepState, stepMetrics) = sent.Dequeue();
            var data = result.Minibatches[0];
            stepMetrics["train_mean_nll"] = NllMetrics.MeanNll(result.ForwardBackward[0], data);
            stepMetrics["optim/lr"] = result.AdamParams.LearningRate;
            stepMetrics["num_sequences"] = data.Count;
            stepMetrics["num_tokens"] = data.Sum(d => d.ModelInput.Length);
            foreach (var (key, value) in result.OptimStep.Metrics ?? new Dictionary<string, double>())
            {
                stepMetrics[$"optim/{key.Split(':')[0]}"] = value;
            }

            stepMetrics["progress/done_frac"] = (stepState.Step + 1) / (double)config.MaxSteps;
            stepMetrics["time/step"] = result.Elapsed.TotalSeconds;
            stepMetrics["time/total"] = (DateTime.UtcNow - started).TotalSeconds;
            var record = new MetricRecord(stepState.Step, stepMetrics, DateTimeOffset.UtcNow);
            earlier.Add(record);
            metrics.OnNext(record);
        }
    }

    /// <summary>Keeps the metrics.jsonl rows of steps before <paramref name="step"/> (those a resumed run does not
    /// redo) and returns them, so plots and summaries cover the whole run.</summary>
    private static List<MetricRecord> KeepRowsBefore(string path, int step)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        var kept = File.ReadLines(path).Where(l => l.Length > 0)
            .Select(l => (Line: l, Row: JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(l)!))
            .Where(r => r.Row["step"].GetInt64() < step)
            .ToList();
        File.WriteAllLines(path, kept.Select(r => r.Line));
        return kept.Select(r => new MetricRecord(
            r.Row["step"].GetInt64(),
            r.Row.Where(kv => kv.Value.ValueKind == JsonValueKind.Number).ToDictionary(kv => kv.Key, kv => kv.Value.GetDouble()),
            DateTimeOffset.UtcNow)).ToList();
    }
}
