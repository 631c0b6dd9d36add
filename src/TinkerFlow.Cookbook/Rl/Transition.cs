using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Rl;

/// <summary>One step of an episode: what the policy saw, what it sampled, and the reward (the cookbook's <c>Transition</c>).</summary>
/// <param name="Observation">The full prompt the action was sampled from.</param>
/// <param name="Action">The sampled tokens and their sampler logprobs.</param>
/// <param name="Reward">The step reward.</param>
/// <param name="EpisodeDone">True on the last step.</param>
public sealed record Transition(ModelInput Observation, TokensWithLogprobs Action, double Reward, bool EpisodeDone)
{
    /// <summary>Numbers the environment reports for this step (averaged into logs).</summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }

    /// <summary>Exclude this action from training (mask 0, advantage 0), e.g. a turn that failed to parse.</summary>
    public bool MaskAction { get; init; }
}
