// Distill: on-policy reverse-KL distillation as one flat loop (the C# twin of the cookbook's
// distillation/on_policy_distillation). Read it top to bottom: config → clients → teacher (SFT it, or --teacher-path)
// → (resume) → sample/score/train loop.
//
//   dotnet run -c Release --project recipes/Distill -- --log-path runs/distill [--max-steps 40] [--teacher-path tinker://…] [--base-url URL] [--model NAME]
//
// Each step the student samples GroupSize completions for GroupsPerBatch prompts, the teacher scores every sampled
// token (ComputeLogprobsAsync on prompt + completion), and each token's advantage is the negative reverse KL,
// A_t = −c·(log q_student,t − log p_teacher,t) (cookbook §3.6, discount 0, no reward). The importance_sampling loss
// then moves the student toward what the teacher would have said. teacher_kl = mean(log q − log p) over sampled tokens.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TinkerFlow;
using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Recipes;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Recipes.Distill;
using TinkerFlow.Types;

var config = RecipeArgs.Parse(new Config(), args);
Console.WriteLine($"Distill config: {RecipeArgs.Describe(config)}");
Directory.CreateDirectory(config.LogPath);

// ---- Clients: the embedded engine by default, a Tinker service with --base-url.
var options = new TinkerClientOptions();
if (config.BaseUrl is not null)
{
    options.BaseUrl = new Uri(config.BaseUrl);
}

await using var service = new ServiceClient(options);
var renderer = new Qwen3Renderer(await service.Backend.GetTokenizerAsync(config.Model));
var conversations = ConversationFile.Load(config.DataPath);

// ---- Teacher: --teacher-path, else the one an earlier run in log_path made, else SFT a LoRA on the chat data now.
var teacherFile = Path.Combine(config.LogPath, "teacher.json");
var teacherPath = config.TeacherPath
    ?? (File.Exists(teacherFile) ? (string?)JsonNode.Parse(File.ReadAllText(teacherFile))!["teacher_path"] : null)
    ?? await ChatSft.TrainTeacherAsync(service, renderer, conversations, config);
File.WriteAllText(teacherFile, new JsonObject { ["teacher_path"] = teacherPath }.ToJsonString() + "\n");
var teacher = await service.CreateSamplingClientAsync(modelPath: teacherPath);
Console.WriteLine($"Teacher: {teacherPath}");

// ---- Student: a fresh LoRA on the base model, or the last checkpoint in log_path.
var resume = CheckpointLog.GetLastCheckpoint(config.LogPath);
var training = resume?.StatePath is { } statePath
    ? await service.CreateTrainingClientFromStateWithOptimizerAsync(statePath)
    : await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed);
var startStep = resume?.Step ?? 0;
Console.WriteLine(resume is null ? $"Student run {training.ModelId}" : $"Resumed {training.ModelId} at step {startStep} from {resume.StatePath}");
if (resume is null && config.StudentSftSteps > 0)
{
    // Off-policy warm-up, as the cookbook's distillation runs SFT before on-policy KL: a base student that never saw
    // ChatML ignores the question, so it would never sample the tokens the teacher wants and the reverse KL could not
    // teach it. A few SFT steps (far fewer than the teacher's) fix the format; on-policy distillation does the rest.
    await ChatSft.TrainAsync("Student", training, renderer, conversations, config.StudentSftSteps, config.SftBatchSize, config.TeacherLearningRate, config.Seed + 2000);
}

// ---- Prompts: the user turns of the chat data (the assistant turns only grade samples, for the `correct` metric).
var batchesPerEpoch = conversations.Count / config.GroupsPerBatch;
// Stop at <|im_end|> (the end of a ChatML turn) and at <|endoftext|>, which ends the plain-text documents the base model
// was pretrained on: a student that has not learned the chat format yet stops there instead of rambling.
var stopTokens = new[] { "<|im_end|>", "<|endoftext|>" }.Select(t => renderer.Tokenizer.TokenToId(t) ?? throw new InvalidOperationException($"The tokenizer has no {t}.")).ToArray();
var samplingParams = new SamplingParams { MaxTokens = config.MaxTokens, Temperature = config.Temperature, Stop = StopCondition.FromTokenIds(stopTokens) };
var metricsFile = Path.Combine(config.LogPath, "metrics.jsonl");
var checkpoints = new CheckpointManager(training, config.LogPath, new CheckpointOptions { SaveEvery = config.SaveEvery });
for (var step = startStep; step < config.MaxSteps; step++)
{
    var started = DateTime.UtcNow;
    var (epoch, batchIndex) = (step / batchesPerEpoch, step % batchesPerEpoch);
    if (step > startStep)
    {
        await checkpoints.MaybeSaveAsync(new LoopState(epoch, batchIndex, step));
    }

    // Sample from the current student (on-policy: a fresh snapshot of the weights every step).
    var student = await training.SaveWeightsAndGetSamplingClientAsync();
    var order = SeededRandom.Permutation(conversations.Count, config.Seed + epoch);
    var problems_P = order.Skip(batchIndex * config.GroupsPerBatch).Take(config.GroupsPerBatch).Select(i => conversations[i]).ToList();
    var prompts_P = problems_P.Select(c => renderer.BuildGenerationPrompt([c[0]])).ToList();
    var samples_P = await Task.WhenAll(prompts_P.Select(async (prompt, p) =>
    {
        var seeded = samplingParams with { Seed = ((long)config.Seed << 32) + ((long)step * config.GroupsPerBatch) + p };
        var future = await student.SampleAsync(WaitUntil.Completed, prompt, config.GroupSize, seeded);
        return future.Value.Sequences;
    }));

    var datums_D = new List<RlDatum>();
    double correct = 0, parsed = 0, sampledTokens = 0;
    for (var p = 0; p < prompts_P.Count; p++)
    {
        foreach (var sequence in samples_P[p])
        {
            datums_D.Add(TrajectoryToDatum.FromPromptAndCompletion(prompts_P[p], TokensWithLogprobs.FromSampledSequence(sequence), advantage: 0));
            var (message, ok) = renderer.ParseResponse(sequence.Tokens);
            parsed += ok ? 1 : 0;
            correct += ok && message.Content.Trim() == problems_P[p][1].Content.Trim() ? 1 : 0;
            sampledTokens += sequence.Tokens.Count;
        }
    }

    // The teacher scores every sampled token. With d_t = log q_t − log p_teacher,t on sampled tokens and its batch mean
    // d̄ (= teacher_kl), KlPenalty sets A_t = c·(d̄ − d_t): the negative reverse KL, centred (cookbook §3.6, discount 0).
    var teacherLogprobs_D = await KlPenalty.ComputeReferenceLogprobsAsync(teacher, datums_D);
    var (penalized_D, teacherKl) = KlPenalty.Apply(datums_D, teacherLogprobs_D, config.KlPenaltyCoef);
    datums_D = [.. penalized_D];

    var fb = await training.ForwardBackwardAsync(WaitUntil.Started, [.. datums_D.Select(d => d.Datum)], LossFnType.ImportanceSampling);
    var optim = await training.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = config.LearningRate });
    var output = await fb;
    var optimResult = await optim;

    var metrics = new Dictionary<string, double>
    {
        ["step"] = step,
        ["teacher_kl"] = teacherKl,
        ["correct"] = correct / datums_D.Count,
        ["parsed"] = parsed / datums_D.Count,
        ["ac_tokens_per_turn"] = sampledTokens / datums_D.Count,
        ["optim/lr"] = config.LearningRate,
        ["epoch"] = epoch,
    };
    foreach (var (key, value) in KlMetrics.Compute(datums_D, output))
    {
        metrics[key] = value;
    }

    foreach (var (key, value) in optimResult.Metrics ?? new Dictionary<string, double>())
    {
        metrics[$"optim/{key.Split(':')[0]}"] = value;
    }

    metrics["time/step"] = (DateTime.UtcNow - started).TotalSeconds;
    Console.WriteLine($"  sample: {problems_P[0][0].Content} -> {JsonSerializer.Serialize(renderer.Tokenizer.Decode(samples_P[0][0].Tokens))}");
    File.AppendAllText(metricsFile, JsonSerializer.Serialize(metrics) + "\n");
    Console.WriteLine(string.Join("  ", metrics.Select(kv => $"{kv.Key}={kv.Value.ToString("G4", CultureInfo.InvariantCulture)}")));
}

if (startStep < config.MaxSteps)
{
    var end = new LoopState(config.MaxSteps / batchesPerEpoch, config.MaxSteps % batchesPerEpoch, config.MaxSteps);
    var final = await checkpoints.SaveFinalAsync(end);
    Console.WriteLine($"Final checkpoint: {final.StatePath} (sampler: {final.SamplerPath})");
}
