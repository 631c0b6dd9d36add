using TinkerFlow.Types;

namespace TinkerFlow.Local.Storage;

/// <summary>A training run's metadata, stored as <c>runs/&lt;run&gt;/run.json</c>.</summary>
internal sealed record RunRecord
{
    public required string TrainingRunId { get; init; }

    public required string BaseModel { get; init; }

    public required string ModelOwner { get; init; }

    public required string SessionId { get; init; }

    public required LoraConfig LoraConfig { get; init; }

    public IReadOnlyDictionary<string, string>? UserMetadata { get; init; }

    public required DateTimeOffset Created { get; init; }

    public required DateTimeOffset LastRequestTime { get; init; }
}

/// <summary>A session's metadata, stored as <c>sessions/&lt;id&gt;.json</c>.</summary>
internal sealed record SessionRecord
{
    public required string SessionId { get; init; }

    public required string Owner { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    public IReadOnlyDictionary<string, string> UserMetadata { get; init; } = new Dictionary<string, string>();

    public string? SdkVersion { get; init; }

    public required DateTimeOffset Created { get; init; }

    public DateTimeOffset LastHeartbeat { get; init; }

    public List<string> TrainingRunIds { get; init; } = [];

    public List<string> SamplerIds { get; init; } = [];
}

/// <summary>A sampler (sampling session), stored as <c>samplers/&lt;id&gt;.json</c>.</summary>
internal sealed record SamplerRecord
{
    public required string SamplerId { get; init; }

    public required string BaseModel { get; init; }

    public string? ModelPath { get; init; }

    public required string Owner { get; init; }
}
