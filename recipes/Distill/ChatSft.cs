using TinkerFlow.Cookbook.Data;
using TinkerFlow.Dataflow;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Types;

namespace TinkerFlow.Recipes.Distill;

/// <summary>Short supervised fine-tuning on the chat data: makes the built-in teacher, and warms up the student.</summary>
internal static class ChatSft
{
    /// <summary>Trains a teacher LoRA and returns its <c>tinker://…/sampler_weights/teacher</c> path.</summary>
    public static async Task<string> TrainTeacherAsync(ServiceClient service, Renderer renderer, IReadOnlyList<IReadOnlyList<Message>> conversations, Config config)
    {
        var training = await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed + 1);
        await TrainAsync("Teacher", training, renderer, conversations, config.TeacherSteps, config.SftBatchSize, config.TeacherLearningRate, config.Seed + 1000);
        var saved = await training.SaveWeightsForSamplerAsync(WaitUntil.Completed, "teacher");
        return saved.Value.Path ?? throw new InvalidOperationException("save_weights_for_sampler returned no path for the teacher; the backend must support named sampler checkpoints.");
    }

    /// <summary>Runs <paramref name="steps"/> SFT steps (linear LR decay) on a training client.</summary>
    public static async Task TrainAsync(string who, TrainingClient training, Renderer renderer, IReadOnlyList<IReadOnlyList<Message>> conversations, int steps, int batchSize, double learningRate, int seed)
    {
        var schedule = new LrSchedule(LrScheduleKind.Linear, learningRate, steps);
        var order = SeededRandom.Permutation(conversations.Count, seed);
        Console.WriteLine($"{who} SFT: {steps} steps of {batchSize} conversations on {training.ModelId}");
        for (var step = 0; step < steps; step++)
        {
            var batch = Enumerable.Range(step * batchSize, batchSize)
                .Select(i => DatumBuilder.ConversationToDatum(renderer, conversations[order[i % order.Length]]))
                .ToList();
            var fb = await training.ForwardBackwardAsync(WaitUntil.Started, batch, LossFnType.CrossEntropy);
            var optim = await training.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = schedule.GetLr(step) });
            var output = await fb;
            await optim;
            if (step % 10 == 0 || step + 1 == steps)
            {
                Console.WriteLine($"  {who.ToLowerInvariant()} SFT step {step}: train_mean_nll={NllMetrics.MeanNll(output, batch):F3}");
            }
        }
    }
}
