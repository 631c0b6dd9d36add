using TinkerFlow.Recipes.Dpo;
using TinkerFlow.Types;

namespace TinkerFlow.Torch.Tests;

/// <summary>Random token datums for the built-in tiny model (vocabulary 320).</summary>
internal static class TestData
{
    /// <summary>A next-token datum of <paramref name="length"/> positions; weights 0 on the first <paramref name="prompt"/>, then <paramref name="weight"/>.</summary>
    public static Datum Sequence(Random rng, int length, int prompt = 0, Func<float>? weight = null)
    {
        var tokens = Enumerable.Range(0, length + 1).Select(_ => rng.Next(3, 300)).ToArray();
        return Datum.Create(
            ModelInput.FromInts(tokens.Take(length)),
            new Dictionary<string, object>
            {
                ["target_tokens"] = tokens.Skip(1).ToArray(),
                ["weights"] = Enumerable.Range(0, length).Select(t => t < prompt ? 0f : weight?.Invoke() ?? 1f).ToArray(),
            });
    }

    /// <summary><paramref name="pairs"/> DPO pairs (chosen, rejected) sharing a prompt length; weights 1 on the answers.</summary>
    public static List<Datum> PreferencePairs(Random rng, int pairs)
    {
        var data = new List<Datum>();
        for (var p = 0; p < pairs; p++)
        {
            var prompt = rng.Next(2, 5);
            data.Add(Sequence(rng, prompt + rng.Next(2, 6), prompt));
            data.Add(Sequence(rng, prompt + rng.Next(2, 6), prompt));
        }

        return data;
    }

    /// <summary>The datums with reference scores s(logprobs) + uniform noise in ±<paramref name="spread"/>, so margins start away from 0.</summary>
    public static List<Datum> WithReferenceScores(Random rng, IReadOnlyList<Datum> data, IReadOnlyList<float[]> logprobs, double spread = 2.0) =>
        [.. data.Select((d, i) => DpoLoss.WithReferenceScore(d, DpoLoss.Score(logprobs[i], d.LossFnInputs["weights"].ToFloat32Array()) + (spread * ((rng.NextDouble() * 2) - 1))))];

    public static double MaxAbsDiff(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        Assert.Equal(a.Count, b.Count);
        return a.Select((x, i) => Math.Abs((double)x - b[i])).DefaultIfEmpty(0).Max();
    }
}
