using System.Text.RegularExpressions;

namespace TinkerFlow.Recipes.MathRl;

/// <summary>
/// The verifiable reward: a response is correct when it is exactly the reference "a+b=c", and well-formatted when it
/// ended with the stop token and has the shape "digits+digits=digits". Reward = correct + format_coef·(format − 1),
/// the cookbook's ProblemEnv rule, so a wrong but well-formed answer scores 0 and a malformed one −format_coef.
/// </summary>
internal static partial class ArithmeticGrader
{
    public static (bool Correct, bool FormatOk) Grade(ArithmeticProblem problem, string response, bool parsedOk)
    {
        var text = response.Trim();
        var formatOk = parsedOk && AnswerShape().IsMatch(text);
        return (formatOk && text == problem.Answer, formatOk);
    }

    public static double Reward(bool correct, bool formatOk, double formatCoef) =>
        (correct ? 1.0 : 0.0) + (formatCoef * ((formatOk ? 1.0 : 0.0) - 1.0));

    [GeneratedRegex(@"^\d+\+\d+=\d+$")]
    private static partial Regex AnswerShape();
}
