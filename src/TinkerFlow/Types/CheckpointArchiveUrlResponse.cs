namespace TinkerFlow.Types;

/// <summary>JSON form of the archive answer: <c>{"url","expires"}</c> (servers should answer 302 instead; see wire spec §6).</summary>
public sealed record CheckpointArchiveUrlResponse
{
    /// <summary>Download URL (<c>url</c>).</summary>
    public required string Url { get; init; }

    /// <summary>When the URL stops working (<c>expires</c>).</summary>
    public DateTimeOffset? Expires { get; init; }
}
