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
/// every sample, and all samples are then decoded together as one batch, one token per step.
/// </summary>
/// <remarks>
/// <para><b>Sampling.</b> Temperature 0 is greedy (argmax; top-k and top-p are then irrelevant). Otherwise the next token
/// is drawn from <c>softmax(logits / temperature)</c> after keeping the <c>top_k</c> largest logits (-1 = all) and then
/// the nucleus: the smallest set of most likely tokens whose probability reaches <c>top_p</c> (the top token always
/// stays). With <see cref="SamplingParams.Seed"/> set, draws come from a <see cref="torch.Generator"/> seeded with it, so
/// the same model, prompt, <c>num_samples</c> and parameters give the same tokens on every call; without a seed each
/// call draws a fresh random seed.</para>
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
/// last allowed token counts as a stop. Finished rows stay in the batch (their outputs are ignored) until every row has
/// finished.</para>
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
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(parameters);
        var config = model.Config;
        int maxTokens = Validate(config, prompt, numSamples, parameters, topkPromptLogprobs);
        int topk = Math.Min(topkPromptLogprobs, config.VocabSize);

        var stopTokens = new HashSet<int>(parameters.Stop?.TokenIds ?? []);
        if (eosTokenId is int eos)
        {
            stopTokens.Add(eos);
        }
        var stopStrings = (parameters.Stop?.Strings ?? []).Where(s => s.Length > 0).ToArray();
        if (stopStrings.Length > 0 && decode is null)
        {
            throw new TinkerUserInputException(
                "sampling_params.stop has strings but this model has no tokenizer to decode the output; pass stop token ids instead.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var device = model.model.embed_tokens.weight!.device;
        long promptLength = prompt.Count;

        // Prefill the prompt once (batch 1).
        var promptIds = torch.tensor(prompt.Select(t => (long)t).ToArray(), [1, promptLength], ScalarType.Int64, device); // (1, T)
        using var promptCache = model.CreateCache(1);
        var hidden = model.model.forward(promptIds, null, promptCache, adapter);             // (1, T, C)

        var (logprobs, topkLogprobs) = promptLogprobs || topk > 0
            ? PromptLogprobs(model, adapter, hidden, promptIds, promptLogprobs, topk)
            : (null, null);

        var lastLogits = model.lm_head.forward(hidden.narrow(1, promptLength - 1, 1), adapter)
            .to(ScalarType.Float32)
            .reshape(1, config.VocabSize);                                                  // (1, V)
        var rows = Enumerable.Range(0, numSamples).Select(_ => new SampledRow()).ToArray();

        ulong seed = parameters.Seed is long s ? unchecked((ulong)s) : unchecked((ulong)Random.Shared.NextInt64());
        using var generator = parameters.Temperature > 0 ? new torch.Generator(seed, device) : null;

        KvCache? batchCache = null;
        Tensor? ownedLogits = null;
        try
        {
            var logits = lastLogits.expand(numSamples, config.VocabSize).contiguous();       // (N, V)
            for (int step = 1; ; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var stepScope = torch.NewDisposeScope();
                var (tokens, tokenLogprobs) = TokenSelector.Select(logits, parameters, generator);
                bool allFinished = true;
                for (int r = 0; r < numSamples; r++)
                {
                    var row = rows[r];
                    if (row.Finished)
                    {
                        continue;
                    }
                    row.Append((int)tokens[r], tokenLogprobs[r]);
                    if (stopTokens.Contains((int)tokens[r]) || HitsStopString(row, stopStrings, decode))
                    {
                        row.Finish(StopReason.Stop);
                    }
                    else if (step >= maxTokens)
                    {
                        row.Finish(StopReason.Length);
                    }
                    else
                    {
                        allFinished = false;
                    }
                }
                if (allFinished)
                {
                    break;
                }

                // Decode one step for the whole batch; finished rows are fed their last token and ignored.
                if (batchCache is null && numSamples > 1)
                {
                    batchCache = ExpandCache(model, promptCache, numSamples);
                    promptCache.Dispose();
                }
                var cache = batchCache ?? promptCache;
                var input = torch.tensor(tokens, [numSamples, 1], ScalarType.Int64, device); // (N, 1)
                var next = model.forward(input, null, cache, adapter).select(1, 0);        // (N, V)
                ownedLogits?.Dispose();
                ownedLogits = next.DetachFromDisposeScope();
                logits = ownedLogits;
            }
        }
        finally
        {
            ownedLogits?.Dispose();
            batchCache?.Dispose();
        }

        return new SampleResponse
        {
            Sequences = [.. rows.Select(r => r.ToSequence())],
            PromptLogprobs = logprobs,
            TopkPromptLogprobs = topkLogprobs,
        };
    }

    private static int Validate(TransformerConfig config, IReadOnlyList<int> prompt, int numSamples, SamplingParams parameters, int topkPromptLogprobs)
    {
        if (prompt.Count == 0)
        {
            throw new TinkerUserInputException("the prompt is empty; sampling needs at least one prompt token.");
        }
        for (int i = 0; i < prompt.Count; i++)
        {
            if (prompt[i] < 0 || prompt[i] >= config.VocabSize)
            {
                throw new TinkerUserInputException(
                    $"prompt token {prompt[i]} at position {i} is outside the model's vocabulary (token ids must be in [0, {config.VocabSize})).");
            }
        }
        if (numSamples is < 1 or > MaxNumSamples)
        {
            throw new TinkerUserInputException($"num_samples must be between 1 and {MaxNumSamples}, got {numSamples}.");
        }
        if (topkPromptLogprobs < 0)
        {
            throw new TinkerUserInputException($"topk_prompt_logprobs must be >= 0, got {topkPromptLogprobs}.");
        }

        int context = config.MaxPositionEmbeddings;
        int room = context - prompt.Count;
        if (parameters.MaxTokens is int requested)
        {
            if (requested < 1)
            {
                throw new TinkerUserInputException($"sampling_params.max_tokens must be >= 1, got {requested}.");
            }
            if ((long)prompt.Count + requested > context)
            {
                throw new TinkerUserInputException(
                    $"the prompt ({prompt.Count} tokens) plus max_tokens ({requested}) exceeds the model's context of {context} tokens; "
                    + $"use max_tokens <= {Math.Max(room, 0)} or a shorter prompt.");
            }
            return requested;
        }
        if (room < 1)
        {
            throw new TinkerUserInputException(
                $"the prompt ({prompt.Count} tokens) fills the model's context of {context} tokens; no room is left to sample.");
        }
        return Math.Min(DefaultMaxTokens, room);
    }

    private static bool HitsStopString(SampledRow row, string[] stopStrings, Func<IReadOnlyList<int>, string>? decode)
    {
        if (stopStrings.Length == 0 || decode is null)
        {
            return false;
        }
        string text = decode(row.Tokens);
        foreach (var stop in stopStrings)
        {
            if (text.Contains(stop, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// A cache for <paramref name="batchSize"/> rows that each hold a copy of the single prompt row of
    /// <paramref name="source"/>.
    /// </summary>
    private static KvCache ExpandCache(CausalLm model, KvCache source, long batchSize)
    {
        var config = model.Config;
        var target = model.CreateCache(batchSize);
        try
        {
            using var scope = torch.NewDisposeScope();
            var dtype = model.model.embed_tokens.weight!.dtype;
            var device = model.model.embed_tokens.weight!.device;
            // Appending zero columns returns everything cached for the layer without changing it.
            var none = torch.empty([1, config.NumKeyValueHeads, 0, config.HeadDim], dtype, device); // (1, Hkv, 0, D)
            for (int layer = 0; layer < config.NumHiddenLayers; layer++)
            {
                var (keys, values) = source.Append(layer, none, none);                       // (1, Hkv, S, D)
                target.Append(layer, keys.expand(batchSize, -1, -1, -1), values.expand(batchSize, -1, -1, -1)); // (N, Hkv, S, D)
            }
            target.AppendValid(source.ValidMask!.expand(batchSize, -1));                     // (N, S)
            return target;
        }
        catch
        {
            target.Dispose();
            throw;
        }
    }
}
