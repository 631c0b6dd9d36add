using TinkerFlow.Cookbook.Evaluation;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Evaluation;

public class SamplingEvaluatorTests
{
    private sealed class ArithmeticEvaluator(IReadOnlyList<(string Question, string Answer)> problems, Renderer renderer)
        : SamplingEvaluator<(string Question, string Answer)>("arithmetic/correct", problems, renderer, new SamplingParams { MaxTokens = 8, Temperature = 0 })
    {
        protected override IReadOnlyList<Message> BuildPrompt((string Question, string Answer) problem) => [Message.User(problem.Question)];

        protected override double Grade((string Question, string Answer) problem, Message response, bool parsedOk) =>
            parsedOk && response.Content.Trim() == problem.Answer ? 1 : 0;
    }

    [Fact]
    public async Task SamplingEvaluator_GradesEachProblemAndReportsMeanWithCi()
    {
        var tokenizer = FakeTokenizer.Qwen3();
        var renderer = new Qwen3Renderer(tokenizer);
        // The fake model answers "4" to everything, ending its turn except for 3+3.
        var client = new FakeSamplingClient
        {
            Respond = prompt => tokenizer.Decode(prompt.ToInts()).Contains("3+3", StringComparison.Ordinal)
                ? tokenizer.Encode("6")
                : [.. tokenizer.Encode("4"), tokenizer.TokenToId("<|im_end|>")!.Value],
        };
        var evaluator = new ArithmeticEvaluator([("2+2", "4"), ("1+3", "4"), ("3+3", "6"), ("0+4", "4")], renderer);

        var result = await evaluator.EvaluateAsync(client);
        var metrics = result.ToMetrics();

        // Scores [1, 1, 0 (no stop), 1]: mean 0.75, s = 0.5, t(0.975, 3) = 3.182446.
        Assert.Equal([1.0, 1, 0, 1], result.Scores);
        Assert.Equal(1, result.ParseFailures);
        Assert.Equal(0.75, metrics["test/arithmetic/correct"], 9);
        Assert.Equal(0.75 - (3.182446305 * 0.25), metrics["test/arithmetic/correct/ci_lower"], 6);
        Assert.Equal(0.75 + (3.182446305 * 0.25), metrics["test/arithmetic/correct/ci_upper"], 6);
        Assert.All(client.ParamsSeen, p => Assert.Equal(renderer.GetStopSequences(), p.Stop));
    }

    [Fact]
    public void ConfidenceInterval_FewValues_HasUndefinedBounds()
    {
        var one = ConfidenceInterval.Of([0.5]);
        var none = ConfidenceInterval.Of([]);

        Assert.Equal(0.5, one.Mean);
        Assert.True(double.IsNaN(one.Lower) && double.IsNaN(one.Upper));
        Assert.True(double.IsNaN(none.Mean));
    }

    [Fact]
    public void ConfidenceInterval_ConstantValues_HasZeroWidth()
    {
        var ci = ConfidenceInterval.Of([1.0, 1.0, 1.0]);

        Assert.Equal(0.0, ci.HalfWidth);
        Assert.Equal(1.0, ci.Mean);
    }
}
