namespace TinkerFlow.Types;

/// <summary>Result of <c>load_weights</c>: <c>{"path"?,"model_id"?,"type":"load_weights"}</c>.</summary>
public sealed record LoadWeightsResponse
{
    /// <summary>The loaded tinker path (<c>path</c>).</summary>
    public string? Path { get; init; }

    /// <summary>The model the weights were loaded into or created as (<c>model_id</c>).</summary>
    public string? ModelId { get; init; }

    /// <summary>Wire discriminator, always <c>"load_weights"</c>.</summary>
    public string Type => "load_weights";
}
