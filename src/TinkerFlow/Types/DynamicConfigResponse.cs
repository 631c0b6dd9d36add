using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>Result of <c>client/dynamic_config</c> (SDK ≥0.25): <c>{"refresh_interval_sec":int}</c>.</summary>
public sealed record DynamicConfigResponse
{
    /// <summary>Creates a response with the default interval (300 s).</summary>
    public DynamicConfigResponse()
    {
    }

    // System.Text.Json source generation resets init-only properties that are missing from the JSON to default(T)
    // (dotnet/runtime#84484); deserialisation goes through this constructor so missing fields keep the SDK defaults.
    [JsonConstructor]
    internal DynamicConfigResponse(int refreshIntervalSec = 300) => RefreshIntervalSec = refreshIntervalSec;

    /// <summary>Seconds between refreshes (<c>refresh_interval_sec</c>), default 300; clients use at least 10.</summary>
    public int RefreshIntervalSec { get; init; } = 300;
}
