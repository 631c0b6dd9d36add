using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TinkerFlow.Types;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Sampling;

/// <content>Prompt logprobs from the prefill's hidden states.</content>
internal sealed partial class Sampler
{
    /// <summary>
    /// Log-probabilities of each prompt token given the tokens before it, and optionally the top-k alternatives,
    /// computed from the prefill's hidden states in position chunks.
    /// </summary>
    /// <param name="model">The model whose <c>lm_head</c> projects the hidden states.</param>
    /// <param name="adapter">The adapter the prefill used.</param>
    /// <param name="hidden">[1, T, C] prefill hidden states (after the final norm).</param>
    /// <param name="promptIds">[1, T] int64 prompt ids.</param>
    /// <param name="wantLogprobs">True to return the per-token logprobs.</param>
    /// <param name="topk">Number of alternatives per position (0 = none), at most V.</param>
    /// <returns>
    /// Per-token logprobs (null at position 0) or null when not wanted; per-position top-k lists (null at position 0)
    /// or null when <paramref name="topk"/> is 0.
    /// </returns>
    internal static (double?[]? Logprobs, IReadOnlyList<TopkPromptLogprob>?[]? Topk) PromptLogprobs(
        CausalLm model, LoraAdapter? adapter, Tensor hidden, Tensor promptIds, bool wantLogprobs, int topk)
    {
        int length = (int)promptIds.shape[1];
        var logprobs = wantLogprobs ? new double?[length] : null;
        var alternatives = topk > 0 ? new IReadOnlyList<TopkPromptLogprob>?[length] : null;
        long chunk = Math.Max(1, PromptLogitsChunkElements / model.Config.VocabSize);

        // Position p's logits predict token p + 1, so positions 0 .. T-2 score tokens 1 .. T-1.
        for (long start = 0; start < length - 1; start += chunk)
        {
            using var scope = torch.NewDisposeScope();
            long count = Math.Min(chunk, length - 1 - start);
            var logits = model.lm_head.forward(hidden.narrow(1, start, count), adapter)
                .to(ScalarType.Float32)
                .squeeze(0);                                                                 // (n, V)
            var logp = logits.log_softmax(-1);                                               // (n, V)

            if (logprobs is not null)
            {
                var targets = promptIds[0].narrow(0, start + 1, count);                     // (n)
                var picked = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1).cpu().data<float>().ToArray(); // (n)
                for (int i = 0; i < count; i++)
                {
                    logprobs[start + 1 + i] = picked[i];
                }
            }

            if (alternatives is not null)
            {
                var (values, indices) = logp.topk(topk, -1);                                 // (n, k), most likely first
                var v = values.cpu().data<float>().ToArray();
                var ids = indices.cpu().data<long>().ToArray();
                for (int i = 0; i < count; i++)
                {
                    var list = new TopkPromptLogprob[topk];
                    for (int j = 0; j < topk; j++)
                    {
                        list[j] = new TopkPromptLogprob((int)ids[i * topk + j], v[i * topk + j]);
                    }
                    alternatives[start + 1 + i] = list;
                }
            }
        }

        return (logprobs, alternatives);
    }
}
