namespace TinkerFlow.Types;

/// <summary>Result of <c>unload_model</c>: <c>{"model_id","type":"unload_model"}</c>.</summary>
public sealed record UnloadModelResponse
{
    /// <summary>The unloaded training run (<c>model_id</c>).</summary>
    public required string ModelId { get; init; }

    /// <summary>Wire discriminator, always <c>"unload_model"</c>.</summary>
    public string Type => "unload_model";
}
