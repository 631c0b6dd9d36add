namespace TinkerFlow.Types;

/// <summary>Result of <c>create_model</c>: <c>{"model_id","type":"create_model"}</c>.</summary>
public sealed record CreateModelResponse
{
    /// <summary>The new training run id (<c>model_id</c>), officially <c>&lt;session_id&gt;:train:&lt;model_seq_id&gt;</c>.</summary>
    public required string ModelId { get; init; }

    /// <summary>Wire discriminator, always <c>"create_model"</c>.</summary>
    public string Type => "create_model";
}
