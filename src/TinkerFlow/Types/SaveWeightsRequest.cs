namespace TinkerFlow.Types;

/// <summary>
/// <c>POST /api/v1/save_weights</c> body: <c>{"model_id","path":&lt;name&gt;,"seq_id"?,"ttl_seconds"?,"overwrite","type":"save_weights"}</c>.
/// </summary>
public sealed record SaveWeightsRequest
{
    private readonly string _path = "";
    private readonly long? _ttlSeconds;

    /// <summary>The training run (<c>model_id</c>).</summary>
    public required string ModelId { get; init; }

    /// <summary>The checkpoint <em>name</em> (<c>path</c>), not a URI: non-empty, no '/', no '..', no control characters.</summary>
    public required string Path
    {
        get => _path;
        init => _path = WireValidation.CheckpointName(value, "save_weights.path");
    }

    /// <summary>Per-training-client sequence number (<c>seq_id</c>).</summary>
    public int? SeqId { get; init; }

    /// <summary>Lifetime of the checkpoint in seconds (<c>ttl_seconds</c>); must be &gt;= 1 when set.</summary>
    public long? TtlSeconds
    {
        get => _ttlSeconds;
        init => _ttlSeconds = WireValidation.AtLeast(value, 1, "save_weights.ttl_seconds");
    }

    /// <summary>Replace an existing checkpoint of the same name (<c>overwrite</c>), default false.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Wire discriminator, always <c>"save_weights"</c>.</summary>
    public string Type => "save_weights";
}
