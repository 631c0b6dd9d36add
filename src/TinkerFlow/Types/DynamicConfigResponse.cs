namespace TinkerFlow.Types;

/// <summary>Result of <c>client/dynamic_config</c> (SDK ≥0.25): <c>{"refresh_interval_sec":int}</c>.</summary>
public sealed record DynamicConfigResponse
{
    /// <summary>Seconds between refreshes (<c>refresh_interval_sec</c>), default 300; clients use at least 10.</summary>
    public int RefreshIntervalSec { get; init; } = 300;
}
