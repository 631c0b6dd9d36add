namespace TinkerFlow.Types;

/// <summary>
/// <c>POST /api/v1/save_weights_for_sampler</c> body. Named form: <c>{"model_id","path":&lt;name&gt;,"seq_id","ttl_seconds"?}</c>;
/// ephemeral form: <c>{"model_id","sampling_session_seq_id","seq_id"}</c> (no path). Both carry <c>"type":"save_weights_for_sampler"</c>.
/// </summary>
public sealed record SaveWeightsForSamplerRequest
{
    private readonly string? _path;
    private readonly long? _ttlSeconds;

    /// <summary>The training run (<c>model_id</c>).</summary>
    public required string ModelId { get; init; }

    /// <summary>Checkpoint name (<c>path</c>) for a persistent save; null for an ephemeral one.</summary>
    public string? Path
    {
        get => _path;
        init => _path = WireValidation.CheckpointNameOrNull(value, "save_weights_for_sampler.path");
    }

    /// <summary>Session-wide sampler counter (<c>sampling_session_seq_id</c>) for an ephemeral save.</summary>
    public int? SamplingSessionSeqId { get; init; }

    /// <summary>Per-training-client sequence number (<c>seq_id</c>).</summary>
    public int? SeqId { get; init; }

    /// <summary>Lifetime of the checkpoint in seconds (<c>ttl_seconds</c>); must be &gt;= 1 when set.</summary>
    public long? TtlSeconds
    {
        get => _ttlSeconds;
        init => _ttlSeconds = WireValidation.AtLeast(value, 1, "save_weights_for_sampler.ttl_seconds");
    }

    /// <summary>Wire discriminator, always <c>"save_weights_for_sampler"</c>.</summary>
    public string Type => "save_weights_for_sampler";
}
