namespace TinkerFlow.Types;

/// <summary>Result of <c>get_info</c>: <c>{"model_data","model_id","is_lora"?,"lora_rank"?,"model_name"?,"type":"get_info"}</c>.</summary>
public sealed record GetInfoResponse
{
    /// <summary>Architecture and tokenizer facts (<c>model_data</c>).</summary>
    public required ModelData ModelData { get; init; }

    /// <summary>The training run (<c>model_id</c>).</summary>
    public required string ModelId { get; init; }

    /// <summary>Whether the run trains a LoRA (<c>is_lora</c>).</summary>
    public bool? IsLora { get; init; }

    /// <summary>LoRA rank (<c>lora_rank</c>).</summary>
    public int? LoraRank { get; init; }

    /// <summary>Base model name (<c>model_name</c>).</summary>
    public string? ModelName { get; init; }

    /// <summary>Wire discriminator, always <c>"get_info"</c>.</summary>
    public string Type => "get_info";
}
