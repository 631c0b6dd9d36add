namespace TinkerFlow.Types;

/// <summary>
/// <c>POST /api/v1/create_sampling_session</c> body: <c>{"session_id","sampling_session_seq_id","base_model"?,"model_path"?,"type"}</c>.
/// </summary>
public sealed record CreateSamplingSessionRequest
{
    private readonly string? _modelPath;

    /// <summary>The owning session (<c>session_id</c>).</summary>
    public required string SessionId { get; init; }

    /// <summary>Session-wide sampler counter (<c>sampling_session_seq_id</c>).</summary>
    public required int SamplingSessionSeqId { get; init; }

    /// <summary>Base model to sample (<c>base_model</c>).</summary>
    public string? BaseModel { get; init; }

    /// <summary>Sampler weights (<c>model_path</c>); must start with <c>tinker://</c>.</summary>
    public string? ModelPath
    {
        get => _modelPath;
        init => _modelPath = WireValidation.TinkerPathOrNull(value, "create_sampling_session.model_path");
    }

    /// <summary>Wire discriminator, always <c>"create_sampling_session"</c>.</summary>
    public string Type => "create_sampling_session";
}
