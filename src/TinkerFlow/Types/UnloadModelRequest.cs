namespace TinkerFlow.Types;

/// <summary><c>POST /api/v1/unload_model</c> body: <c>{"model_id","type":"unload_model"}</c>.</summary>
public sealed record UnloadModelRequest
{
    /// <summary>The training run to unload (<c>model_id</c>).</summary>
    public required string ModelId { get; init; }

    /// <summary>Wire discriminator, always <c>"unload_model"</c>.</summary>
    public string Type => "unload_model";
}
