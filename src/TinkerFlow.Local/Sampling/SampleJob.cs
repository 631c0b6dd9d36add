using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Sampling;

/// <summary>
/// One validated <c>asample</c> request inside a decode batch: its prompt, adapter, per-row settings, random source and
/// the rows decoded for it so far.
/// </summary>
/// <remarks>
/// Each job draws from its own <see cref="Random"/> seeded from <see cref="SamplingParams.Seed"/> (a fresh random seed
/// without one), one uniform per live row per step in row order, so its tokens do not depend on which other requests
/// share the batch.
/// </remarks>
internal sealed class SampleJob
{
    private readonly TaskCompletionSource<SampleResponse> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SampleJob(
        LoraAdapter? adapter,
        int[] prompt,
        int numSamples,
        SamplingParams parameters,
        int maxTokens,
        bool promptLogprobs,
        int topkPromptLogprobs,
        HashSet<int> stopTokens,
        string[] stopStrings,
        Func<IReadOnlyList<int>, string>? decode,
        CancellationToken cancellationToken)
    {
        Adapter = adapter;
        Prompt = prompt;
        NumSamples = numSamples;
        Parameters = parameters;
        MaxTokens = maxTokens;
        WantPromptLogprobs = promptLogprobs;
        TopkPromptLogprobs = topkPromptLogprobs;
        StopTokens = stopTokens;
        StopStrings = stopStrings;
        Decode = decode;
        CancellationToken = cancellationToken;
        ulong seed = parameters.Seed is long s ? unchecked((ulong)s) : unchecked((ulong)Random.Shared.NextInt64());
        // Random(int) is the documented, stable seeded sequence; fold the 64-bit seed into it.
        Random = new Random(unchecked((int)(seed ^ (seed >> 32))));
        Rows = [.. Enumerable.Range(0, numSamples).Select(_ => new SampledRow())];
    }

    public LoraAdapter? Adapter { get; }

    public int[] Prompt { get; }

    public int NumSamples { get; }

    public SamplingParams Parameters { get; }

    /// <summary>Tokens each row may generate.</summary>
    public int MaxTokens { get; }

    public bool WantPromptLogprobs { get; }

    /// <summary>Top-k prompt alternatives per position, already capped to the vocabulary (0 = none).</summary>
    public int TopkPromptLogprobs { get; }

    public HashSet<int> StopTokens { get; }

    public string[] StopStrings { get; }

    public Func<IReadOnlyList<int>, string>? Decode { get; }

    public CancellationToken CancellationToken { get; }

    /// <summary>This request's random source (one per request).</summary>
    public Random Random { get; }

    /// <summary>One row per sample, in sample order.</summary>
    public SampledRow[] Rows { get; }

    /// <summary>Whether the batcher has taken the request into its decode batch (false while it waits for room).</summary>
    public bool Admitted => Volatile.Read(ref _admitted) != 0;

    private int _admitted;

    /// <summary>Marks the request as taken into the decode batch (by the batcher, when it admits it).</summary>
    public void MarkAdmitted() => Volatile.Write(ref _admitted, 1);

    /// <summary>Prompt logprobs from the prefill, when asked for.</summary>
    public double?[]? PromptLogprobs { get; set; }

    /// <summary>Top-k prompt logprobs from the prefill, when asked for.</summary>
    public IReadOnlyList<TopkPromptLogprob>?[]? TopkPromptLogprobsResult { get; set; }

    /// <summary>Rows not yet finished.</summary>
    public int LiveRows { get; set; }

    /// <summary>The batch row of each sample while it is live (null once finished), in sample order.</summary>
    public DecodeBatch.Row?[] RowSlots { get; set; } = [];

    /// <summary>Cache columns a row of this job can need: prompt plus <see cref="MaxTokens"/>.</summary>
    public long Columns => Prompt.Length + MaxTokens;

    /// <summary>Completes when every row has finished (or the job failed).</summary>
    public Task<SampleResponse> Completion => _completion.Task;

    /// <summary>Validates a request against <paramref name="config"/> and builds its job.</summary>
    /// <exception cref="TinkerUserInputException">The request is out of range for the model (see <see cref="Sampler.Sample"/>).</exception>
    public static SampleJob Create(
        TransformerConfig config,
        LoraAdapter? adapter,
        IReadOnlyList<int> prompt,
        int numSamples,
        SamplingParams parameters,
        bool promptLogprobs,
        int topkPromptLogprobs,
        Func<IReadOnlyList<int>, string>? decode,
        int? eosTokenId,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(parameters);
        int maxTokens = Validate(config, prompt, numSamples, parameters, topkPromptLogprobs);
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
        if (parameters.Temperature < 0 || double.IsNaN(parameters.Temperature))
        {
            throw new TinkerUserInputException($"sampling_params.temperature must be >= 0, got {parameters.Temperature}.");
        }

        return new SampleJob(adapter, [.. prompt], numSamples, parameters, maxTokens, promptLogprobs,
            Math.Min(topkPromptLogprobs, config.VocabSize), stopTokens, stopStrings, decode, cancellationToken);
    }

    /// <summary>Finishes the job with its rows' sequences.</summary>
    public void Complete() => _completion.TrySetResult(new SampleResponse
    {
        Sequences = [.. Rows.Select(r => r.ToSequence())],
        PromptLogprobs = PromptLogprobs,
        TopkPromptLogprobs = TopkPromptLogprobsResult,
    });

    /// <summary>Fails the job.</summary>
    public void Fail(Exception error)
    {
        if (error is OperationCanceledException)
        {
            _completion.TrySetCanceled(CancellationToken);
        }
        else
        {
            _completion.TrySetException(error);
        }
    }

    /// <summary>True when the row's latest token ends it with a stop token or completes a stop string.</summary>
    public bool HitsStop(SampledRow row, int token)
    {
        if (StopTokens.Contains(token))
        {
            return true;
        }
        if (StopStrings.Length == 0 || Decode is null)
        {
            return false;
        }
        string text = Decode(row.Tokens);
        foreach (var stop in StopStrings)
        {
            if (text.Contains(stop, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
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
        if (numSamples is < 1 or > Sampler.MaxNumSamples)
        {
            throw new TinkerUserInputException($"num_samples must be between 1 and {Sampler.MaxNumSamples}, got {numSamples}.");
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
        return Math.Min(Sampler.DefaultMaxTokens, room);
    }
}
