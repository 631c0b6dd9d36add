using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Rl;

/// <summary>One episode: its transitions in order (the cookbook's <c>Trajectory</c>).</summary>
/// <param name="Transitions">The steps.</param>
/// <param name="FinalObservation">The observation after the last step, when there is one.</param>
public sealed record Trajectory(IReadOnlyList<Transition> Transitions, ModelInput? FinalObservation = null)
{
    /// <summary>Sum of the step rewards (the group reward is added by <see cref="TrajectoryGroup"/>).</summary>
    public double StepRewardSum => Transitions.Sum(t => t.Reward);
}
