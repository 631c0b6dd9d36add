namespace TinkerFlow.Types;

/// <summary>Result of <c>create_sampling_session</c>: <c>{"sampling_session_id","type":"create_sampling_session"}</c>.</summary>
public sealed record CreateSamplingSessionResponse
{
    /// <summary>The new sampler (<c>sampling_session_id</c>), officially <c>&lt;session&gt;:sample:&lt;seq&gt;</c>.</summary>
    public required string SamplingSessionId { get; init; }

    /// <summary>Wire discriminator, always <c>"create_sampling_session"</c>.</summary>
    public string Type => "create_sampling_session";
}
