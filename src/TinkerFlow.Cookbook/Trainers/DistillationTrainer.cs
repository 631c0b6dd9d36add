using TinkerFlow.Cookbook.Rl;

namespace TinkerFlow.Cookbook.Trainers;

/// <summary>
/// On-policy reverse-KL distillation (the cookbook's <c>distillation/train_on_policy.py</c>) as a configuration of
/// <see cref="RlTrainer{TItem}"/>, so it is the same Dataflow graph: each step's prompts → groups sampled by the
/// student's latest sampler, each scored token by token by the teacher → minibatch assembly with advantages
/// A_t = c·(d̄ − d_t), d_t = log q_student,t − log p_teacher,t (the negative reverse KL, centred; no reward, no group
/// dropped) → <see cref="Dataflow.TrainingStage"/> (<c>importance_sampling</c> by default) with evaluations and
/// checkpoints as step barriers → one metric stream, where <c>teacher_kl</c> = d̄ of the step should fall.
/// Resume as for RL: start from <see cref="TrainerRun.StartOrResumeAsync"/>; prompts and seeds are functions of the step.
/// </summary>
public static class DistillationTrainer
{
    /// <summary>mean(log q_student − log p_teacher) over a step's sampled tokens (the cookbook's name).</summary>
    public const string TeacherKl = "teacher_kl";

    /// <summary>Builds the graph.</summary>
    /// <typeparam name="TPrompt">A prompt (e.g. a conversation whose first turn is asked).</typeparam>
    /// <param name="run">The student's client and loop state to start from.</param>
    /// <param name="initialSampler">A sampler on the student's current weights.</param>
    /// <param name="teacher">The teacher and the KL coefficient (its metric name is set to <see cref="TeacherKl"/>).</param>
    /// <param name="promptsForStep">The prompts of a global step (<see cref="RlTrainerOptions.GroupsPerBatch"/> of them), a pure function of the step.</param>
    /// <param name="sampleGroup">One group: (student sampler, prompt, step, index within the step, token) → the sampled completions as trajectories, reward 0 (transition metrics such as <c>correct</c> are averaged into <c>env/all/*</c>).</param>
    /// <param name="options">Schedule, staleness (0 = on-policy, as the cookbook), evaluations, checkpoints; its <c>KlReference</c> and <c>RemoveConstantRewardGroups</c> are set here.</param>
    /// <returns>The trainer.</returns>
    public static RlTrainer<TPrompt> Create<TPrompt>(
        TrainerRun run,
        SamplingClient initialSampler,
        KlReference teacher,
        Func<int, IReadOnlyList<TPrompt>> promptsForStep,
        Func<SamplingClient, TPrompt, int, int, CancellationToken, Task<TrajectoryGroup>> sampleGroup,
        RlTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(options);
        return new RlTrainer<TPrompt>(run, initialSampler, promptsForStep, sampleGroup, options with
        {
            KlReference = teacher with { MetricName = TeacherKl },
            RemoveConstantRewardGroups = false,
        });
    }
}
