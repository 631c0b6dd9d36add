namespace TinkerFlow.Dataflow;

/// <summary>One step of an <see cref="RlPipeline{TItem, TRollout}"/>: the rollouts it trained and the training result.</summary>
/// <typeparam name="TRollout">The user's rollout type.</typeparam>
/// <param name="Train">The training step's outputs, timing and metrics.</param>
/// <param name="Rollouts">The rollouts trained, oldest sampler version first (ties in admission order).</param>
/// <param name="SamplerVersion">The version of the sampler published after this step (<c>Train.Step + 1</c>).</param>
/// <param name="Metrics">The step's metrics: the training metrics plus the RL ones.</param>
/// <param name="MinibatchRollouts">Per minibatch, in submission order, the rollouts its datums were built from (in the order <c>buildDatums</c> saw them); parallel to <c>Train.Minibatches</c>.</param>
public sealed record RlStepResult<TRollout>(
    TrainStepResult Train,
    IReadOnlyList<VersionedRollout<TRollout>> Rollouts,
    int SamplerVersion,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyList<IReadOnlyList<TRollout>> MinibatchRollouts);
