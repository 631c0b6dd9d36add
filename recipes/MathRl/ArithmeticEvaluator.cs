using TinkerFlow.Cookbook.Evaluation;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Types;

namespace TinkerFlow.Recipes.MathRl;

/// <summary>Greedy exact match on the fixed held-out problems: <c>test/env/all/correct</c>.</summary>
internal sealed class ArithmeticEvaluator(IReadOnlyList<ArithmeticProblem> problems, Renderer renderer, int maxTokens)
    : SamplingEvaluator<ArithmeticProblem>("env/all/correct", problems, renderer, new SamplingParams { MaxTokens = maxTokens, Temperature = 0 })
{
    protected override IReadOnlyList<Message> BuildPrompt(ArithmeticProblem problem) => [Message.User(problem.Question)];

    protected override double Grade(ArithmeticProblem problem, Message response, bool parsedOk) =>
        ArithmeticGrader.Grade(problem, response.Content, parsedOk).Correct ? 1 : 0;
}
