using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Sampling;

/// <summary>
/// Serves <c>asample</c> (and <c>compute_logprobs</c>, which is <c>asample</c> with <c>max_tokens</c> 1 and
/// <c>prompt_logprobs</c> true) on a <see cref="CausalLm"/>: the prompt is prefilled once, its KV cache is copied to
/// every sample, and all samples are then decoded together as one batch, one token per step. <see cref="Sample"/> runs
/// one request on the calling thread through a <see cref="DecodeBatch"/>; the engine's requests share one batch per
/// model through <see cref="ContinuousBatcher"/>, with the same semantics.
/// </summary>
/// <remarks>
/// <para><b>Sampling.</b> Temperature 0 is greedy (argmax; top-k and top-p are then irrelevant). Otherwise the next token
/// is drawn from <c>softmax(logits / temperature)</c> after keeping the <c>top_k</c> largest logits (-1 = all) and then
/// the nucleus: the smallest set of most likely tokens whose probability reaches <c>top_p</c> (the top token always
/// stays). With <see cref="SamplingParams.Seed"/> set, draws come from a random source of the request's own seeded with
/// it (one uniform per live row per step, inverse-CDF sampling), so the same model, prompt, <c>num_samples</c> and
/// parameters give the same tokens on every call, alone or batched with other requests; without a seed each call draws
/// a fresh random seed.</para>
/// <para><b>Returned logprobs.</b> <see cref="SampledSequence.Logprobs"/> holds, for each sampled token,
/// <c>log_softmax(raw logits)[token]</c>: temperature 1 and before top-k/top-p filtering, whatever the request's
/// settings. At temperature 1 without filtering this is exactly the sampler's own probability, which is what
/// importance-sampling losses need as q; it also equals the prompt logprob that <c>compute_logprobs</c> later reports
/// for the same token.</para>
/// <para><b>Stopping.</b> A row ends with <see cref="StopReason.Stop"/> when it samples one of the stop token ids
/// (<see cref="StopCondition.TokenIds"/>, plus the optional end-of-sequence id passed to <see cref="Sample"/>), or when
/// the decoded text of its generated tokens first contains one of the stop strings. In both cases the returned tokens
/// end with the token that triggered the stop (the stop token, or the token that completed the stop string), as Tinker
/// returns them. Otherwise it ends with <see cref="StopReason.Length"/> after <c>max_tokens</c> tokens; a stop on the
/// last allowed token counts as a stop. Finished rows leave the batch at once.</para>
/// <para><b>Limits.</b> Without <c>max_tokens</c> the sampler generates at most <see cref="DefaultMaxTokens"/> tokens,
/// fewer if the context would overflow. The prompt plus <c>max_tokens</c> may not exceed the model's
/// <see cref="TransformerConfig.MaxPositionEmbeddings"/>.</para>
/// <para><b>Threading.</b> <see cref="Sample"/> runs synchronously on the calling thread inside one dispose scope and
/// <c>torch.no_grad()</c>; call it from the engine's worker thread, never across an <c>await</c>.</para>
/// </remarks>
internal sealed partial class Sampler
{
    /// <summary>Tokens generated when a request leaves <c>max_tokens</c> unset (capped by the remaining context).</summary>
    public const int DefaultMaxTokens = 16;

    /// <summary>Largest accepted <c>num_samples</c>.</summary>
    public const int MaxNumSamples = 1024;

    /// <summary>Samples <paramref name="numSamples"/> completions of <paramref name="prompt"/>.</summary>
    /// <param name="model">The base model.</param>
    /// <param name="adapter">LoRA adapter to sample with, or null for the base model.</param>
    /// <param name="prompt">Prompt token ids, each in [0, vocab_size); at least one.</param>
    /// <param name="numSamples">Number of completions, 1..<see cref="MaxNumSamples"/>.</param>
    /// <param name="parameters">Temperature, top-k, top-p, seed, stop condition and <c>max_tokens</c>.</param>
    /// <param name="promptLogprobs">
    /// True to fill <see cref="SampleResponse.PromptLogprobs"/>: <c>[null, lp(prompt[1] | prompt[..1]), …]</c>, one entry
    /// per prompt token.
    /// </param>
    /// <param name="topkPromptLogprobs">
    /// If positive, fill <see cref="SampleResponse.TopkPromptLogprobs"/> with the k most likely tokens at each prompt
    /// position (most likely first; null at position 0). Values above the vocabulary size are capped to it.
    /// </param>
    /// <param name="decode">
    /// Turns generated token ids into text; required when the stop condition has strings. It is called with a row's
    /// generated tokens after every step and must not keep the list.
    /// </param>
    /// <param name="eosTokenId">
    /// Optional extra stop token (typically the tokenizer's end-of-sequence id) treated like the request's stop token
    /// ids; null adds none, so only the request's stop condition and <c>max_tokens</c> end a row.
    /// </param>
    /// <param name="cancellationToken">Checked before the prefill and before every decoding step.</param>
    /// <returns>One sequence per sample, in order, plus the requested prompt logprobs.</returns>
    /// <exception cref="TinkerUserInputException">
    /// The prompt is empty or holds an id outside the vocabulary, <c>num_samples</c> or <c>topk_prompt_logprobs</c> is
    /// out of range, the prompt plus <c>max_tokens</c> exceeds the context, or stop strings come without a tokenizer.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public SampleResponse Sample(
        CausalLm model,
        LoraAdapter? adapter,
        IReadOnlyList<int> prompt,
        int numSamples,
        SamplingParams parameters,
        bool promptLogprobs = false,
        int topkPromptLogprobs = 0,
        Func<IReadOnlyList<int>, string>? decode = null,
        int? eosTokenId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var job = SampleJob.Create(model.Config, adapter, prompt, numSamples, parameters, promptLogprobs, topkPromptLogprobs,
            decode, eosTokenId, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        using var batch = new DecodeBatch(model);
        batch.Step([job]);
        while (!batch.IsEmpty)
        {
            batch.Step([]);
        }
        return job.Completion.GetAwaiter().GetResult();
    }
}
