using TinkerFlow.Types;
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
    /// Chooses the next token of every row and reports its log-probability under the raw logits.
    /// </summary>
    /// <param name="logits">[N, V] float32 next-token logits, unscaled.</param>
    /// <param name="parameters">Temperature, top-k and top-p.</param>
    /// <param name="generator">Random source for the draw; unused (may be null) when the temperature is 0.</param>
    /// <returns>
    /// The chosen ids ([N]) and <c>log_softmax(logits)[id]</c> for each ([N]): temperature 1, before any top-k/top-p
    /// filtering, whatever the sampling settings were.
    /// </returns>
    public static (long[] Tokens, float[] Logprobs) Select(Tensor logits, SamplingParams parameters, Generator? generator)
    {
        using var scope = torch.NewDisposeScope();
        Tensor tokens;                                                                       // (N)
        if (parameters.Temperature == 0)
        {
            tokens = logits.argmax(-1);
        }
        else
        {
            var filtered = Filter(logits / parameters.Temperature, parameters.TopK, parameters.TopP); // (N, V)
            var probs = filtered.softmax(-1);                                                // (N, V)
            tokens = probs.multinomial(1, replacement: false, generator: generator).squeeze(-1);
        }

        var logprobs = logits.log_softmax(-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1); // (N)
        return (tokens.cpu().data<long>().ToArray(), logprobs.cpu().data<float>().ToArray());
    }

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
            result = torch.full_like(result, double.NegativeInfinity).scatter(-1, indices, values); // (N, V)
        }

        if (topP < 1)
        {
            var (sorted, order) = result.sort(-1, descending: true);                         // (N, V)
            var probs = sorted.softmax(-1);                                                  // (N, V)
            var before = probs.cumsum(-1) - probs;                                           // (N, V) mass of more likely tokens
            var drop = before >= topP;                                                       // (N, V); column 0 is 0 < top_p
            sorted = sorted.masked_fill(drop, double.NegativeInfinity);
            result = torch.full_like(result, double.NegativeInfinity).scatter(-1, order, sorted); // (N, V)
        }

        return result;
    }
}
