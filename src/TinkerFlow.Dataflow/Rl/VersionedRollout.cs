namespace TinkerFlow.Dataflow;

/// <summary>A finished rollout, tagged with the sampler version that produced it and the step that trains it.</summary>
/// <typeparam name="TRollout">The user's rollout type (e.g. a trajectory group).</typeparam>
/// <param name="Rollout">The user's result.</param>
/// <param name="SamplerVersion">The version of the sampler the rollout ran on: the number of optimizer steps in its weights (the initial sampler is version 0).</param>
/// <param name="Index">The 0-based admission order of the item.</param>
/// <param name="Step">The 0-based training step the rollout is trained in, fixed at admission.</param>
public sealed record VersionedRollout<TRollout>(TRollout Rollout, int SamplerVersion, long Index, int Step)
{
    /// <summary>Optimizer steps between the sampler that produced the rollout and the step that trains it: <c>Step − SamplerVersion</c>.</summary>
    public int Staleness => Step - SamplerVersion;
}
