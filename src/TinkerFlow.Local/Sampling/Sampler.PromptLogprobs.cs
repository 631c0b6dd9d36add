using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Sampling;

/// <content>Prompt logprobs from the prefill's hidden states.</content>
internal sealed partial class Sampler
{
    /// <summary>
    /// Log-probabilities of each prompt token given the tokens before it, and optionally the top-k alternatives,
    /// computed from the prefill's hidden states by the chunked LM head (<see cref="ChunkedLmHead.Logprobs"/>).
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
        if (length < 2)
        {
            return (logprobs, alternatives);
        }

        // Position p's logits predict token p + 1, so positions 0 .. T-2 score tokens 1 .. T-1 (the shared chunked head).
        using var scope = torch.NewDisposeScope();
        var rows = hidden[0].narrow(0, 0, length - 1);                                       // (T-1, C)
        var targets = wantLogprobs ? promptIds[0].narrow(0, 1, length - 1) : null;           // (T-1)
        var (picked, topValues, topIds) = ChunkedLmHead.Logprobs(model.lm_head, adapter, rows, targets, topk);
        if (picked is not null)
        {
            var values = picked.data<float>().ToArray();
            for (int i = 0; i < values.Length; i++)
            {
                logprobs![i + 1] = values[i];
            }
        }

        if (topValues is not null)
        {
            var v = topValues.data<float>().ToArray();
            var ids = topIds!.data<long>().ToArray();
            for (int i = 0; i < length - 1; i++)
            {
                var list = new TopkPromptLogprob[topk];
                for (int j = 0; j < topk; j++)
                {
                    list[j] = new TopkPromptLogprob((int)ids[i * topk + j], v[i * topk + j]);
                }
                alternatives![i + 1] = list;
            }
        }

        return (logprobs, alternatives);
    }
}
