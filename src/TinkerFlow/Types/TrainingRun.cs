namespace TinkerFlow.Types;

/// <summary>
/// A training run: <c>{"training_run_id","base_model","model_owner","is_lora","corrupted","lora_rank"?,"last_request_time",
/// "last_checkpoint"?,"last_sampler_checkpoint"?,"user_metadata"?}</c>.
/// </summary>
public sealed record TrainingRun
{
    /// <summary>The run id = model id (<c>training_run_id</c>).</summary>
    public required string TrainingRunId { get; init; }

    /// <summary>Base model name (<c>base_model</c>).</summary>
    public required string BaseModel { get; init; }

    /// <summary>Owner of the run (<c>model_owner</c>); content is the server's choice.</summary>
    public required string ModelOwner { get; init; }

    /// <summary>Whether the run trains a LoRA (<c>is_lora</c>).</summary>
    public required bool IsLora { get; init; }

    /// <summary>Whether the run's state is damaged (<c>corrupted</c>), default false.</summary>
    public bool Corrupted { get; init; }

    /// <summary>LoRA rank (<c>lora_rank</c>).</summary>
    public int? LoraRank { get; init; }

    /// <summary>Time of the latest request (<c>last_request_time</c>).</summary>
    public required DateTimeOffset LastRequestTime { get; init; }

    /// <summary>Newest training checkpoint (<c>last_checkpoint</c>).</summary>
    public Checkpoint? LastCheckpoint { get; init; }

    /// <summary>Newest sampler checkpoint (<c>last_sampler_checkpoint</c>).</summary>
    public Checkpoint? LastSamplerCheckpoint { get; init; }

    /// <summary>Metadata given at creation (<c>user_metadata</c>).</summary>
    public IReadOnlyDictionary<string, string>? UserMetadata { get; init; }
}
