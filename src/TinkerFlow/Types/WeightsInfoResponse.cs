namespace TinkerFlow.Types;

/// <summary>Result of <c>weights_info</c>: <c>{"base_model","is_lora","lora_rank"?,"train_unembed"?,"train_mlp"?,"train_attn"?}</c>.</summary>
public sealed record WeightsInfoResponse
{
    /// <summary>Base model of the checkpoint (<c>base_model</c>).</summary>
    public required string BaseModel { get; init; }

    /// <summary>Whether it holds LoRA weights (<c>is_lora</c>).</summary>
    public required bool IsLora { get; init; }

    /// <summary>LoRA rank (<c>lora_rank</c>).</summary>
    public int? LoraRank { get; init; }

    /// <summary>LoRA on the unembedding (<c>train_unembed</c>).</summary>
    public bool? TrainUnembed { get; init; }

    /// <summary>LoRA on the MLP layers (<c>train_mlp</c>).</summary>
    public bool? TrainMlp { get; init; }

    /// <summary>LoRA on the attention layers (<c>train_attn</c>).</summary>
    public bool? TrainAttn { get; init; }
}
