namespace TinkerFlow.Types;

/// <summary>Result of <c>save_weights_for_sampler</c>: <c>{"path"?}</c> (named) or <c>{"sampling_session_id"?}</c> (ephemeral).</summary>
public sealed record SaveWeightsForSamplerResponse
{
    /// <summary>Tinker path <c>tinker://&lt;run&gt;/sampler_weights/&lt;name&gt;</c> of a named save (<c>path</c>).</summary>
    public string? Path { get; init; }

    /// <summary>Sampling session created on ephemeral weights (<c>sampling_session_id</c>).</summary>
    public string? SamplingSessionId { get; init; }

    /// <summary>Wire discriminator, always <c>"save_weights_for_sampler"</c>.</summary>
    public string Type => "save_weights_for_sampler";
}
