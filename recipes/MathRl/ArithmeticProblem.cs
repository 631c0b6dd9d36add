using TinkerFlow.Cookbook.Data;

namespace TinkerFlow.Recipes.MathRl;

/// <summary>
/// A two-digit addition problem in the chat format of <c>recipes/data/tiny_chat.jsonl</c>: the user asks
/// "What is a+b?" and the reference answer is "a+b=c".
/// </summary>
/// <param name="A">First addend, 10–99.</param>
/// <param name="B">Second addend, 10–99.</param>
internal sealed record ArithmeticProblem(int A, int B)
{
    /// <summary>The seed of the fixed held-out set; training problems never include its pairs.</summary>
    public const long TestSeed = 20_261_122;

    public int Sum => A + B;

    public string Question => $"What is {A}+{B}?";

    public string Answer => $"{A}+{B}={Sum}";

    /// <summary>The fixed held-out set (the same for every run and seed).</summary>
    public static IReadOnlyList<ArithmeticProblem> TestSet(int count)
    {
        var rng = new SeededRandom(TestSeed);
        var set = new List<ArithmeticProblem>();
        while (set.Count < count)
        {
            var p = Draw(rng);
            if (!set.Contains(p))
            {
                set.Add(p);
            }
        }

        return set;
    }

    /// <summary>The training problems of one step: a pure function of (seed, step), so a resumed run sees the same
    /// problems as an uninterrupted one. Pairs from <paramref name="exclude"/> are skipped.</summary>
    public static IReadOnlyList<ArithmeticProblem> ForStep(long seed, int step, int count, IReadOnlySet<ArithmeticProblem> exclude)
    {
        var rng = new SeededRandom((seed * 1_000_003) + step);
        var problems = new List<ArithmeticProblem>(count);
        while (problems.Count < count)
        {
            var p = Draw(rng);
            if (!exclude.Contains(p))
            {
                problems.Add(p);
            }
        }

        return problems;
    }

    private static ArithmeticProblem Draw(SeededRandom rng) => new(10 + rng.NextInt(90), 10 + rng.NextInt(90));
}
