namespace TinkerFlow.Types;

/// <summary>
/// <c>POST /api/v1/create_model</c> body: <c>{"session_id","model_seq_id","base_model","user_metadata"?,"lora_config"?,"type":"create_model"}</c>.
/// </summary>
public sealed record CreateModelRequest
{
    /// <summary>The owning session (<c>session_id</c>).</summary>
    public required string SessionId { get; init; }

    /// <summary>Per-session training-client counter 0, 1, 2… (<c>model_seq_id</c>).</summary>
    public required int ModelSeqId { get; init; }

    /// <summary>Base model name (<c>base_model</c>).</summary>
    public required string BaseModel { get; init; }

    /// <summary>Free-form metadata of the run (<c>user_metadata</c>).</summary>
    public IReadOnlyDictionary<string, string>? UserMetadata { get; init; }

    /// <summary>LoRA settings (<c>lora_config</c>).</summary>
    public LoraConfig? LoraConfig { get; init; }

    /// <summary>Wire discriminator, always <c>"create_model"</c>.</summary>
    public string Type => "create_model";
}
