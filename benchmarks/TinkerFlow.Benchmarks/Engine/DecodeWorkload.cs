using TinkerFlow.Local.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>
/// Greedy decoding of one sequence (batch 1) straight on <see cref="CausalLm"/>, with and without the KV cache.
/// Both paths do the same per-token work outside the model: an argmax and a host read of the chosen token (a real
/// sampler needs the token on the host to check stop conditions).
/// </summary>
internal static class DecodeWorkload
{
    /// <summary>
    /// Prefills <paramref name="prompt"/> into a KV cache, then decodes <paramref name="newTokens"/> tokens one
    /// position per forward. Returns prompt + generated tokens.
    /// </summary>
    public static long[] DecodeWithCache(CausalLm model, IReadOnlyList<int> prompt, int newTokens)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var tokens = new List<long>(prompt.Count + newTokens);
        tokens.AddRange(prompt.Select(t => (long)t));
        using var cache = model.CreateCache(1);
        var ids = torch.tensor(tokens.ToArray(), [1, tokens.Count], ScalarType.Int64);                 // (1, P)
        var hidden = model.model.forward(ids, null, cache, null);                                      // (1, P, C)
        long next = model.lm_head.forward(hidden.narrow(1, tokens.Count - 1, 1)).argmax(-1).item<long>();
        tokens.Add(next);
        for (int i = 1; i < newTokens; i++)
        {
            using var step = torch.NewDisposeScope();
            var input = torch.tensor(new[] { next }, [1, 1], ScalarType.Int64);                         // (1, 1)
            next = model.forward(input, null, cache, null).argmax(-1).item<long>();                     // (1, 1, V) → id
            tokens.Add(next);
        }

        return [.. tokens];
    }

    /// <summary>
    /// The lengths at which the no-cache baseline is timed: every <paramref name="stride"/>-th of P, P+1, …,
    /// P+newTokens−1, always including the last.
    /// </summary>
    public static int[] NoCacheLengths(int promptLength, int newTokens, int stride)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        var lengths = new List<int>();
        for (int i = 0; i < newTokens; i += stride)
        {
            lengths.Add(promptLength + i);
        }

        if (lengths[^1] != promptLength + newTokens - 1)
        {
            lengths.Add(promptLength + newTokens - 1);
        }

        return [.. lengths];
    }

    /// <summary>
    /// One step of the no-cache baseline: to produce the token at position L it re-runs the decoder over all L tokens
    /// so far and projects only the last position to the vocabulary (the strongest honest baseline: the other L−1
    /// logits are never needed), then reads the argmax on the host. Returns the seconds it took and the picked token.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="sequence">Prompt followed by generated tokens (from <see cref="DecodeWithCache"/>), so both paths process exactly the same inputs.</param>
    /// <param name="length">L: how many leading tokens of <paramref name="sequence"/> to feed.</param>
    public static (double Seconds, long Token) NoCacheStep(CausalLm model, long[] sequence, int length)
    {
        long picked = 0;
        double seconds = Stats.Time(() =>
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var ids = torch.tensor(sequence.AsSpan(0, length).ToArray(), [1, length], ScalarType.Int64);   // (1, L)
            var hidden = model.model.forward(ids, null, null, null);                                      // (1, L, C)
            picked = model.lm_head.forward(hidden.narrow(1, length - 1, 1)).argmax(-1).item<long>();
        });
        return (seconds, picked);
    }

    /// <summary>
    /// Total cost of decoding every length P..P+newTokens−1 from costs timed at <paramref name="lengths"/> (ascending,
    /// first = P, last = P+newTokens−1): timed lengths count as measured, the lengths between two timed ones get the
    /// linear interpolation of their costs. With every length timed the sum is exact.
    /// </summary>
    public static double SumCosts(IReadOnlyList<int> lengths, IReadOnlyDictionary<int, double> cost)
    {
        double total = 0;
        for (int k = 0; k < lengths.Count; k++)
        {
            total += cost[lengths[k]];
            if (k + 1 < lengths.Count)
            {
                int a = lengths[k], b = lengths[k + 1];
                for (int length = a + 1; length < b; length++)
                {
                    total += cost[a] + (cost[b] - cost[a]) * (length - a) / (b - a);
                }
            }
        }

        return total;
    }

    /// <summary>
    /// The whole no-cache baseline in one pass: times every <paramref name="stride"/>-th length (1 = all) and returns
    /// <see cref="SumCosts"/>; <paramref name="mismatches"/> counts argmax disagreements with the cached path.
    /// </summary>
    public static double DecodeWithoutCacheSeconds(CausalLm model, long[] sequence, int promptLength, int newTokens, int stride, out int mismatches)
    {
        var lengths = NoCacheLengths(promptLength, newTokens, stride);
        var cost = new Dictionary<int, double>();
        mismatches = 0;
        foreach (int length in lengths)
        {
            var (seconds, token) = NoCacheStep(model, sequence, length);
            cost[length] = seconds;
            mismatches += token == sequence[length] ? 0 : 1;
        }

        return SumCosts(lengths, cost);
    }
}
