namespace TinkerFlow.Types;

/// <summary>
/// Result of <c>asample</c>: <c>{"sequences":[…],"prompt_logprobs"?:[float|null],"topk_prompt_logprobs"?:[[[id,lp],…]|null],
/// "prompt_cache_hit_tokens":int,"type":"sample"}</c>.
/// </summary>
public sealed record SampleResponse
{
    /// <summary>The generated sequences (<c>sequences</c>).</summary>
    public required IReadOnlyList<SampledSequence> Sequences { get; init; }

    /// <summary>One logprob per prompt token, null where undefined (the first token) (<c>prompt_logprobs</c>).</summary>
    public IReadOnlyList<double?>? PromptLogprobs { get; init; }

    /// <summary>Per prompt position, the top-k <c>[token_id, logprob]</c> pairs or null (<c>topk_prompt_logprobs</c>).</summary>
    public IReadOnlyList<IReadOnlyList<TopkPromptLogprob>?>? TopkPromptLogprobs { get; init; }

    /// <summary>Prompt tokens served from the prefix cache (<c>prompt_cache_hit_tokens</c>), default 0.</summary>
    public int PromptCacheHitTokens { get; init; }

    /// <summary>Wire discriminator, always <c>"sample"</c>.</summary>
    public string Type => "sample";
}
