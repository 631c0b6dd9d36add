namespace TinkerFlow.Types;

/// <summary>
/// <c>POST /api/v1/load_weights</c> body. Legacy form: <c>{"model_id","path","optimizer","seq_id"}</c>; create-via-load form
/// (≥0.24.1): <c>{"session_id","model_seq_id","base_model"?,"user_metadata"?,"path","optimizer"}</c>. Always <c>"type":"load_weights"</c>.
/// </summary>
public sealed record LoadWeightsRequest
{
    private readonly string _path = "";

    /// <summary>The training run to load into (<c>model_id</c>); null in create-via-load form.</summary>
    public string? ModelId { get; init; }

    /// <summary>Tinker path of the checkpoint (<c>path</c>); must start with <c>tinker://</c>.</summary>
    public required string Path
    {
        get => _path;
        init => _path = WireValidation.TinkerPathOrNull(WireValidation.NotNull(value, "load_weights.path"), "load_weights.path")!;
    }

    /// <summary>Also restore Adam state (<c>optimizer</c>); always written.</summary>
    public bool Optimizer { get; init; }

    /// <summary>Per-training-client sequence number (<c>seq_id</c>).</summary>
    public int? SeqId { get; init; }

    /// <summary>Token that lets a run load a checkpoint owned by another account (<c>weights_access_token</c>).</summary>
    public string? WeightsAccessToken { get; init; }

    /// <summary>Session of the model to create (<c>session_id</c>, create-via-load form).</summary>
    public string? SessionId { get; init; }

    /// <summary>Per-session training-client counter (<c>model_seq_id</c>, create-via-load form).</summary>
    public int? ModelSeqId { get; init; }

    /// <summary>Base model override (<c>base_model</c>, create-via-load form).</summary>
    public string? BaseModel { get; init; }

    /// <summary>Metadata of the created run (<c>user_metadata</c>, create-via-load form).</summary>
    public IReadOnlyDictionary<string, string>? UserMetadata { get; init; }

    /// <summary>Wire discriminator, always <c>"load_weights"</c>.</summary>
    public string Type => "load_weights";
}
