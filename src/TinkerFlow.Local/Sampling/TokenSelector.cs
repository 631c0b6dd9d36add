using TinkerFlow.Types;
using TinkerFlow.Local.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Sampling;

/// <summary>
/// Picks one next token per row from next-token logits: greedy at temperature 0, otherwise a draw from
/// <c>softmax(logits / T)</c> restricted by top-k and then top-p (the order vLLM and Hugging Face use).
/// </summary>
internal static class TokenSelector
{
    /// <summary>
    /// Chooses the next token of every row, each with its own settings, and reports its log-probability under the raw
    /// logits.
    /// </summary>
    /// <param name="logits">[R, V] float32 next-token logits, unscaled.</param>
    /// <param name="settings">Each row's temperature, top-k and top-p (R entries).</param>
    /// <param name="uniforms">
    /// Each row's uniform draw in [0, 1) from its request's own random source (unused for rows at temperature 0).
    /// A row at temperature T &gt; 0 takes the first token whose cumulative probability under its filtered
    /// <c>softmax(logits / T)</c> exceeds its uniform (inverse-CDF sampling, one op for all rows).
    /// </param>
    /// <returns>
    /// The chosen ids ([R]) and <c>log_softmax(logits)[id]</c> for each ([R]): temperature 1, before any top-k/top-p
    /// filtering, whatever the sampling settings were.
    /// </returns>
    public static (long[] Tokens, float[] Logprobs) Select(Tensor logits, IReadOnlyList<SamplingParams> settings, IReadOnlyList<double> uniforms)
    {
        using var scope = torch.NewDisposeScope();
        int rows = (int)logits.shape[0];
        long vocab = logits.shape[1];
        var device = logits.device;
        bool anyGreedy = false, anySampled = false;
        for (int r = 0; r < rows; r++)
        {
            if (settings[r].Temperature == 0)
            {
                anyGreedy = true;
            }
            else
            {
                anySampled = true;
            }
        }

        Tensor? greedy = anyGreedy ? logits.argmax(-1) : null;                               // (R)
        Tensor? sampled = null;                                                               // (R)
        if (anySampled)
        {
            var temperatures = settings.Select(p => p.Temperature == 0 ? 1f : (float)p.Temperature).ToArray();
            var scaled = logits / torch.tensor(temperatures, [rows, 1], ScalarType.Float32, device); // (R, V)
            foreach (var group in Enumerable.Range(0, rows)
                .Where(r => settings[r].Temperature > 0 && NeedsFilter(settings[r], vocab))
                .GroupBy(r => (settings[r].TopK, settings[r].TopP)))
            {
                var members = group.Select(r => (long)r).ToArray();
                if (members.Length == rows)
                {
                    scaled = Filter(scaled, group.Key.TopK, group.Key.TopP);                 // (R, V)
                }
                else
                {
                    var index = torch.tensor(members, ScalarType.Int64, device);             // (n)
                    scaled = scaled.index_copy(0, index, Filter(scaled.index_select(0, index), group.Key.TopK, group.Key.TopP));
                }
            }
            var cdf = scaled.softmax(-1).to(ScalarType.Float64).cumsum(-1);                   // (R, V)
            var targets = torch.tensor(uniforms.ToArray(), [rows, 1], ScalarType.Float64, device) * cdf.narrow(1, vocab - 1, 1); // (R, 1)
            using var lastId = (vocab - 1).ToScalar();
            sampled = torch.searchsorted(cdf, targets, right: true).squeeze(1).clamp_max(lastId); // (R)
        }

        Tensor tokens = greedy is null ? sampled!
            : sampled is null ? greedy
            : torch.where(torch.tensor(settings.Select(p => p.Temperature == 0).ToArray(), ScalarType.Bool, device), greedy, sampled);
        var logprobs = logits.log_softmax(-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1); // (R)
        return (tokens.cpu().data<long>().ToArray(), logprobs.cpu().data<float>().ToArray());
    }

    private static bool NeedsFilter(SamplingParams p, long vocab) => (p.TopK > 0 && p.TopK < vocab) || p.TopP < 1;

    /// <summary>
    /// Sets to −∞ every logit outside the top-k and outside the nucleus: the smallest set of most likely tokens whose
    /// probability reaches <paramref name="topP"/>; the most likely token always survives.
    /// </summary>
    /// <param name="scaled">[N, V] logits already divided by the temperature.</param>
    /// <param name="topK">Keep the k largest (-1 or ≥ V = keep all).</param>
    /// <param name="topP">Nucleus threshold in (0, 1]; 1 keeps all.</param>
    /// <returns>[N, V] filtered logits.</returns>
    public static Tensor Filter(Tensor scaled, int topK, double topP)
    {
        long vocab = scaled.shape[^1];
        var result = scaled;
        if (topK > 0 && topK < vocab)
        {
            var (values, indices) = result.topk(topK, -1);                                   // (N, k)
            result = torch.full_like(result, Scalars.NegativeInfinity).scatter(-1, indices, values); // (N, V)
        }

        if (topP < 1)
        {
            var (sorted, order) = result.sort(-1, descending: true);                         // (N, V)
            var probs = sorted.softmax(-1);                                                  // (N, V)
            var before = probs.cumsum(-1) - probs;                                           // (N, V) mass of more likely tokens
            using var topPScalar = topP.ToScalar();
            var drop = before.ge(topPScalar);                                                // (N, V); column 0 is 0 < top_p
            sorted = sorted.masked_fill(drop, Scalars.NegativeInfinity);
            result = torch.full_like(result, Scalars.NegativeInfinity).scatter(-1, order, sorted); // (N, V)
        }

        return result;
    }
}
