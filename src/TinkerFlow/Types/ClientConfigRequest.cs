namespace TinkerFlow.Types;

/// <summary><c>POST /api/v1/client/config</c> (and <c>client/dynamic_config</c>) body: <c>{"sdk_version"}</c>.</summary>
public sealed record ClientConfigRequest
{
    /// <summary>The emulated Python SDK version (<c>sdk_version</c>).</summary>
    public required string SdkVersion { get; init; }
}
