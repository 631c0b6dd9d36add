namespace TinkerFlow.Cookbook.Evaluation;

/// <summary>The outcome of a <see cref="SamplingEvaluator{TProblem}"/> run.</summary>
/// <param name="Name">The evaluator name.</param>
/// <param name="Scores">One grade per problem, in problem order.</param>
/// <param name="Interval">Mean and confidence interval of the scores.</param>
/// <param name="ParseFailures">Responses that did not end properly (e.g. hit <c>max_tokens</c>).</param>
public sealed record EvaluationResult(string Name, IReadOnlyList<double> Scores, ConfidenceInterval Interval, int ParseFailures)
{
    /// <summary>
    /// The metrics: <c>{prefix}/{name}</c> (mean), <c>{prefix}/{name}/ci_lower</c>, <c>/ci_upper</c>, <c>/count</c>
    /// and <c>/parse_failures</c>.
    /// </summary>
    /// <param name="prefix">The metric prefix, <c>test</c> by default.</param>
    /// <returns>The metrics.</returns>
    public IReadOnlyDictionary<string, double> ToMetrics(string prefix = "test")
    {
        var key = $"{prefix}/{Name}";
        return new Dictionary<string, double>
        {
            [key] = Interval.Mean,
            [$"{key}/ci_lower"] = Interval.Lower,
            [$"{key}/ci_upper"] = Interval.Upper,
            [$"{key}/count"] = Interval.Count,
            [$"{key}/parse_failures"] = ParseFailures,
        };
    }
}
