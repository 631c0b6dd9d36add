using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Hyperparameters;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Types;

namespace TinkerFlow.Recipes.Distill;

/// <summary>The built-in teacher: a LoRA fine-tuned briefly by SFT on the chat data, saved as sampler weights.</summary>
internal static class TeacherSft
{
    /// <summary>Trains the teacher and returns its <c>tinker://…/sampler_weights/teacher</c> path.</summary>
    public static async Task<string> TrainAsync(ServiceClient service, Renderer renderer, IReadOnlyList<IReadOnlyList<Message>> conversations, Config config)
    {
        var training = await service.CreateLoraTrainingClientAsync(config.Model, rank: config.LoraRank, seed: config.Seed + 1);
        var schedule = new LrSchedule(LrScheduleKind.Linear, config.TeacherLearningRate, config.TeacherSteps);
        var order = SeededRandom.Permutation(conversations.Count, config.Seed + 1000);
        Console.WriteLine($"Teacher SFT: {config.TeacherSteps} steps of {config.TeacherBatchSize} conversations on {training.ModelId}");
        for (var step = 0; step < config.TeacherSteps; step++)
        {
            var batch = Enumerable.Range(step * config.TeacherBatchSize, config.TeacherBatchSize)
                .Select(i => DatumBuilder.ConversationToDatum(renderer, conversations[order[i % order.Length]]))
                .ToList();
            var fb = await training.ForwardBackwardAsync(WaitUntil.Started, batch, LossFnType.CrossEntropy);
            var optim = await training.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = schedule.GetLr(step) });
            var output = await fb;
            await optim;
            if (step % 10 == 0 || step + 1 == config.TeacherSteps)
            {
                Console.WriteLine($"  teacher step {step}: train_mean_nll={MeanNll(output, batch):F3}");
            }
        }

        var saved = await training.SaveWeightsForSamplerAsync(WaitUntil.Completed, "teacher");
        return saved.Value.Path ?? throw new InvalidOperationException("save_weights_for_sampler returned no path for the teacher; the backend must support named sampler checkpoints.");
    }

    private static double MeanNll(ForwardBackwardOutput output, IReadOnlyList<Datum> batch)
    {
        double nll = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var lp = output.LossFnOutputs[i]["logprobs"].ToFloat32Array();
            var w = batch[i].LossFnInputs["weights"].ToFloat32Array();
            for (var t = 0; t < lp.Length; t++)
            {
                nll -= lp[t] * w[t];
            }
        }

        return nll / batch.Count; // weights are per-example means, so this is the mean per-token NLL per conversation
    }
}
