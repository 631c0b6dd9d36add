using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Types;

namespace TinkerFlow.Recipes.MathRl;

/// <summary>
/// A single-turn environment for one problem (the cookbook's ProblemEnv): the observation is the chat prompt, one
/// step grades the sampled answer and ends the episode.
/// </summary>
internal sealed class ArithmeticEnv(ArithmeticProblem problem, Renderer renderer, double formatCoef)
{
    public ArithmeticProblem Problem { get; } = problem;

    public ModelInput InitialObservation() => renderer.BuildGenerationPrompt([Message.User(Problem.Question)]);

    public StopCondition StopCondition => renderer.GetStopSequences();

    public Transition Step(ModelInput observation, TokensWithLogprobs action)
    {
        var (message, parsedOk) = renderer.ParseResponse(action.Tokens);
        var (correct, formatOk) = ArithmeticGrader.Grade(Problem, message.Content, parsedOk);
        return new Transition(observation, action, ArithmeticGrader.Reward(correct, formatOk, formatCoef), EpisodeDone: true)
        {
            Metrics = new Dictionary<string, double> { ["correct"] = correct ? 1 : 0, ["format"] = formatOk ? 1 : 0 },
        };
    }
}
