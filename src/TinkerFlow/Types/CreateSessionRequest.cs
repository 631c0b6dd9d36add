namespace TinkerFlow.Types;

/// <summary>
/// <c>POST /api/v1/create_session</c> body: <c>{"tags":[str],"user_metadata":{},"sdk_version","project_id"?,"type":"create_session"}</c>.
/// </summary>
public sealed record CreateSessionRequest
{
    /// <summary>Session tags (<c>tags</c>), always written (empty by default).</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Free-form metadata (<c>user_metadata</c>), always written (empty by default).</summary>
    public IReadOnlyDictionary<string, string> UserMetadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The emulated Python SDK version (<c>sdk_version</c>).</summary>
    public required string SdkVersion { get; init; }

    /// <summary>Project to bill (<c>project_id</c>).</summary>
    public string? ProjectId { get; init; }

    /// <summary>Wire discriminator, always <c>"create_session"</c>.</summary>
    public string Type => "create_session";
}
