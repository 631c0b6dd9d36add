namespace TinkerFlow.Types;

/// <summary><c>POST /api/v1/optim_step</c> body: <c>{"adam_params","model_id","seq_id"?,"type":"optim_step"}</c>.</summary>
public sealed record OptimStepRequest
{
    /// <summary>Optimizer settings (<c>adam_params</c>).</summary>
    public required AdamParams AdamParams { get; init; }

    /// <summary>The training run (<c>model_id</c>).</summary>
    public required string ModelId { get; init; }

    /// <summary>Per-training-client sequence number (<c>seq_id</c>).</summary>
    public int? SeqId { get; init; }

    /// <summary>Wire discriminator, always <c>"optim_step"</c>.</summary>
    public string Type => "optim_step";
}
