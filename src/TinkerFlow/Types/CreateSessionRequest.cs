using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// <c>POST /api/v1/create_session</c> body: <c>{"tags":[str],"user_metadata":{},"sdk_version","project_id"?,"type":"create_session"}</c>.
/// </summary>
public sealed record CreateSessionRequest
{
    /// <summary>Creates a request with no tags and empty metadata; set <see cref="SdkVersion"/>.</summary>
    public CreateSessionRequest()
    {
    }

    // System.Text.Json source generation resets init-only properties that are missing from the JSON to default(T)
    // (dotnet/runtime#84484); deserialisation goes through this constructor so missing fields keep the SDK defaults.
    [JsonConstructor]
    internal CreateSessionRequest(IReadOnlyList<string>? tags = null, IReadOnlyDictionary<string, string>? userMetadata = null)
    {
        Tags = tags ?? [];
        UserMetadata = userMetadata ?? new Dictionary<string, string>();
    }

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
