namespace TinkerFlow.Types;

/// <summary>Result of <c>GET /api/v1/samplers/{id}</c>: <c>{"sampler_id","base_model","model_path"?}</c>.</summary>
public sealed record GetSamplerResponse
{
    /// <summary>The sampler (<c>sampler_id</c>).</summary>
    public required string SamplerId { get; init; }

    /// <summary>Its base model (<c>base_model</c>).</summary>
    public required string BaseModel { get; init; }

    /// <summary>Its weights (<c>model_path</c>), when not the base model.</summary>
    public string? ModelPath { get; init; }
}
