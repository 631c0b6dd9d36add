using System.Globalization;

namespace TinkerFlow.Local.BuiltinModels;

/// <summary>
/// The deterministic synthetic corpus the built-in tiny model is pretrained on: plain text (no chat template) of the
/// task families the recipes use — arithmetic, word games, facts — so that recipes start from a model with some
/// competence and visibly learn the chat format and the tasks on top of it.
/// </summary>
/// <remarks>
/// Documents look like <c>"47+25=72"</c>, <c>"Q: Reverse the word lemon.\nA: nomel"</c> or short sentences. The
/// recipes' chat data (<c>recipes/data/tiny_chat.jsonl</c>) uses ChatML around the same questions, which the
/// pretrained model has never seen, so supervised fine-tuning still has plenty to learn.
/// </remarks>
internal static class PretrainingCorpus
{
    private static readonly string[] Words = ("apple river stone cloud tiger lemon piano garden rocket silver candle forest window orange pencil "
        + "bridge planet mirror castle dragon summer winter autumn spring butter coffee marble violet yellow purple ocean desert "
        + "island valley meadow thunder shadow").Split(' ');

    private static readonly (string Country, string Capital)[] Capitals =
    [
        ("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Egypt", "Cairo"), ("Canada", "Ottawa"),
        ("Kenya", "Nairobi"), ("Peru", "Lima"), ("Norway", "Oslo"), ("Chile", "Santiago"), ("Greece", "Athens"), ("Poland", "Warsaw"),
        ("Cuba", "Havana"), ("Ireland", "Dublin"), ("Austria", "Vienna"),
    ];

    private static readonly (string Word, string Opposite)[] Antonyms =
    [
        ("hot", "cold"), ("up", "down"), ("big", "small"), ("fast", "slow"), ("light", "dark"), ("happy", "sad"),
        ("open", "closed"), ("early", "late"), ("full", "empty"), ("old", "new"), ("hard", "soft"), ("loud", "quiet"),
    ];

    /// <summary>An endless, seeded stream of documents.</summary>
    public static IEnumerable<string> Documents(int seed)
    {
        var rng = new Random(seed);
        while (true)
        {
            yield return Document(rng);
        }
    }

    private static string Document(Random rng)
    {
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        switch (rng.Next(10))
        {
            case 0:
            case 1:
            case 2:
            {
                // Arithmetic lines, several per document.
                var lines = new List<string>();
                for (var i = rng.Next(2, 6); i > 0; i--)
                {
                    int a = rng.Next(0, 100), b = rng.Next(0, 100);
                    lines.Add(rng.Next(3) == 0 && a >= b ? $"{I(a)}-{I(b)}={I(a - b)}" : $"{I(a)}+{I(b)}={I(a + b)}");
                }

                return string.Join('\n', lines);
            }

            case 3:
            {
                var w = Words[rng.Next(Words.Length)];
                var reversed = new string(w.Reverse().ToArray());
                return $"Q: Reverse the word {w}.\nA: {reversed}";
            }

            case 4:
            {
                var w = Words[rng.Next(Words.Length)];
                return $"Q: Write {w} in capital letters.\nA: {w.ToUpperInvariant()}";
            }

            case 5:
            {
                var w = Words[rng.Next(Words.Length)];
                var c = w[rng.Next(w.Length)];
                return $"Q: How many times does the letter {c} appear in {w}?\nA: {I(w.Count(x => x == c))}";
            }

            case 6:
            {
                var (country, capital) = Capitals[rng.Next(Capitals.Length)];
                return rng.Next(2) == 0 ? $"The capital of {country} is {capital}." : $"Q: What is the capital of {country}?\nA: {capital}";
            }

            case 7:
            {
                var (word, opposite) = Antonyms[rng.Next(Antonyms.Length)];
                return $"The opposite of {word} is {opposite}.";
            }

            case 8:
            {
                var n = rng.Next(1, 999);
                return $"Q: Which number comes after {I(n)}?\nA: {I(n + 1)}";
            }

            default:
            {
                var count = rng.Next(3, 8);
                var words = Enumerable.Range(0, count).Select(_ => Words[rng.Next(Words.Length)]);
                return $"The {string.Join(' ', words)}.";
            }
        }
    }
}
