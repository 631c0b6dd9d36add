using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>One top-k prompt alternative; on the wire a two-element array <c>[token_id, logprob]</c>.</summary>
/// <param name="TokenId">The alternative token id.</param>
/// <param name="Logprob">Its log-probability.</param>
[JsonConverter(typeof(TopkPromptLogprobJsonConverter))]
public readonly record struct TopkPromptLogprob(int TokenId, double Logprob);
