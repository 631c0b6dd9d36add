// Distill: on-policy reverse-KL distillation (the C# twin of the cookbook's distillation/on_policy_distillation),
// composed from library blocks: config → teacher (--teacher-path, the one log_path/teacher.json names, or a LoRA SFT'd
// now) → student run (resumed from log_path, else a fresh LoRA with a short SFT warm-up) → DistillationTrainer (an
// RlTrainer graph: prompts → groups sampled by the latest student → the teacher scores every sampled token →
// advantages A_t = c·(d̄ − d_t), d_t = log q_student − log p_teacher → TrainingStage with checkpoints as step
// barriers) → metric sinks → run. teacher_kl = d̄, the mean reverse KL over a step's sampled tokens, should fall.
//
//   dotnet run -c Release --project recipes/Distill -- --log-path runs/distill [--max-steps 40] [--teacher-path tinker://…] [--base-url URL] [--model NAME] [--describe]
using System.Globalization;
using System.Reactive.Linq;
using System.Text.Json.Nodes;
using TinkerFlow;
using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Recipes;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Cookbook.Trainers;
using TinkerFlow.Dataflow;
using TinkerFlow.Recipes.Distill;
using TinkerFlow.Types;

var config = RecipeArgs.Parse(new Config(), args);
Console.WriteLine($"Distill config: {RecipeArgs.Describe(config)}");
var started = DateTime.UtcNow;
Directory.CreateDirectory(config.LogPath);
await using var service = new ServiceClient(RecipeArgs.ClientOptions(config.BaseUrl));
var renderer = new Qwen3Renderer(await service.Backend.GetTokenizerAsync(config.Model));
var conversations = ConversationFile.Load(config.DataPath);

// ---- Teacher: --teacher-path, else the one an earlier run in log_path made, else SFT a LoRA on the chat data now.
// Its path goes into teacher.json, so a resumed run distills from the same teacher. (--describe trains nothing.)
var teacherFile = Path.Combine(config.LogPath, "teacher.json");
var teacherPath = config.TeacherPath
    ?? (File.Exists(teacherFile) ? (string?)JsonNode.Parse(File.ReadAllText(teacherFile))!["teacher_path"] : null)
    ?? (config.Describe ? null : await ChatSft.TrainTeacherAsync(service, renderer, conversations, config));
if (!config.Describe)
{
    File.WriteAllText(teacherFile, new JsonObject { ["teacher_path"] = teacherPath }.ToJsonString() + "\n");
    Console.WriteLine($"Teacher: {teacherPath}");
}

var teacher = await service.CreateSamplingClientAsync(modelPath: teacherPath, baseModel: teacherPath is null ? config.Model : null);

// ---- Student: resumed from log_path (weights, optimizer, step), else a fresh LoRA on the base model, warmed up off
// policy as the cookbook's distillation runs SFT before on-policy KL: a base student that never saw ChatML ignores the
// question, never samples the tokens the teacher wants, and the reverse KL cannot teach it. A few SFT steps (far fewer
// than the teacher's) fix the format; on-policy distillation does the rest.
var run = await TrainerRun.StartOrResumeAsync(service, config.LogPath, async () =>
{
    var student = await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed);
    if (config.StudentSftSteps > 0 && !config.Describe)
    {
        await ChatSft.TrainAsync("Student", student, renderer, conversations, config.StudentSftSteps, config.SftBatchSize, config.TeacherLearningRate, config.Seed + 2000);
    }

    return student;
});
Console.WriteLine(run);

// ---- Prompts: the user turns of the chat data, in a per-epoch order that is a function of the step (so a resumed run
// sees the same ones); the assistant turns only grade samples (env/all/correct). Sampling stops at <|im_end|> and at
// <|endoftext|>, which ends the pretraining documents: a student that has not learned ChatML yet stops there.
var batchesPerEpoch = conversations.Count / config.GroupsPerBatch;
var stopTokens = new[] { "<|im_end|>", "<|endoftext|>" }.Select(t => renderer.Tokenizer.TokenToId(t) ?? throw new InvalidOperationException($"The tokenizer has no {t}.")).ToArray();
var sampling = new SamplingParams { MaxTokens = config.MaxTokens, Temperature = config.Temperature, Stop = StopCondition.FromTokenIds(stopTokens) };
var trainer = DistillationTrainer.Create<IReadOnlyList<Message>>(
    run,
    await run.Client.SaveWeightsAndGetSamplingClientAsync(),
    new KlReference("teacher", teacher) { Coefficient = config.KlPenaltyCoef },
    step => [.. SeededRandom.Permutation(conversations.Count, config.Seed + (step / batchesPerEpoch)).Skip(step % batchesPerEpoch * config.GroupsPerBatch).Take(config.GroupsPerBatch).Select(i => conversations[i])],
    async (student, conversation, step, index, ct) =>
    {
        var prompt = renderer.BuildGenerationPrompt([conversation[0]]);
        var seeded = sampling with { Seed = ((long)config.Seed << 32) + ((long)step * config.GroupsPerBatch) + index };
        var response = await student.SampleAsync(WaitUntil.Completed, prompt, config.GroupSize, seeded, cancellationToken: ct);
        return new TrajectoryGroup([.. response.Value.Sequences.Select(sequence =>
        {
            var (message, parsed) = renderer.ParseResponse(sequence.Tokens);
            var correct = parsed && message.Content.Trim() == conversation[1].Content.Trim();
            return new Trajectory([new Transition(prompt, TokensWithLogprobs.FromSampledSequence(sequence), Reward: 0, EpisodeDone: true)
            {
                Metrics = new Dictionary<string, double> { ["parsed"] = parsed ? 1 : 0, ["correct"] = correct ? 1 : 0 },
            }]);
        })]);
    },
    new RlTrainerOptions
    {
        LogPath = config.LogPath,
        MaxSteps = config.MaxSteps,
        GroupsPerBatch = config.GroupsPerBatch,
        LearningRate = new LrSchedule(LrScheduleKind.Constant, config.LearningRate, config.MaxSteps),
        Checkpoints = new CheckpointOptions { SaveEvery = config.SaveEvery },
    });
if (config.Describe)
{
    Console.WriteLine(trainer.Describe($"user turns of {Path.GetFileName(config.DataPath)} ({conversations.Count} prompts, {config.GroupSize} samples each), teacher {teacherPath ?? $"SFT'd {config.TeacherSteps} steps"}"));
    return;
}

// ---- Sinks on the one metric stream: metrics.jsonl (a resumed run first drops the rows it redoes) and the console.
var metricsPath = Path.Combine(config.LogPath, "metrics.jsonl");
var earlier = JsonlMetricsReader.KeepStepsBefore(metricsPath, run.State.Step);
var teacherKl = new List<double>();
using var view = new ConsoleMetricsView(new ConsoleMetricsViewOptions
{
    Title = "distill",
    TotalSteps = config.MaxSteps,
    ShownMetrics = [DistillationTrainer.TeacherKl, "env/all/parsed", "env/all/correct", "env/all/ac_tokens_per_turn", RlMetricNames.Entropy, MetricNames.TimeStep],
});
using var jsonl = trainer.Metrics.Subscribe(new JsonlMetricsWriter(metricsPath));
using var live = trainer.Metrics.Subscribe(view);
using var summary = earlier.ToObservable().Concat(trainer.Metrics).Values(DistillationTrainer.TeacherKl).Subscribe(v => teacherKl.Add(v.Value));

await trainer.RunAsync();
await view.Completion;
Console.WriteLine($"Done in {(DateTime.UtcNow - started).TotalSeconds:F0} s; teacher_kl {string.Join(" → ", teacherKl.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))}; logs in {config.LogPath}");
