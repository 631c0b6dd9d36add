namespace TinkerFlow.Types;

/// <summary>
/// A saved checkpoint: <c>{"checkpoint_id":"weights/0001","checkpoint_type","time","tinker_path","size_bytes"?,"public","expires_at"?}</c>.
/// </summary>
public sealed record Checkpoint
{
    /// <summary>Id used in REST URLs (<c>checkpoint_id</c>): <c>weights/&lt;name&gt;</c> or <c>sampler_weights/&lt;name&gt;</c>.</summary>
    public required string CheckpointId { get; init; }

    /// <summary>Training or sampler checkpoint (<c>checkpoint_type</c>).</summary>
    public required CheckpointType CheckpointType { get; init; }

    /// <summary>When it was saved (<c>time</c>).</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>Full <c>tinker://</c> path (<c>tinker_path</c>).</summary>
    public required string TinkerPath { get; init; }

    /// <summary>Stored size in bytes (<c>size_bytes</c>).</summary>
    public long? SizeBytes { get; init; }

    /// <summary>Whether anyone may load it (<c>public</c>), default false.</summary>
    public bool Public { get; init; }

    /// <summary>When it will be deleted (<c>expires_at</c>); null = kept.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The training run the checkpoint belongs to (<c>training_run_id</c>), when the service sends it.</summary>
    public string? TrainingRunId { get; init; }
}
