namespace TinkerFlow.Cookbook.Checkpoints;

/// <summary>When and for how long <see cref="CheckpointManager"/> keeps checkpoints.</summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Setting</term><description>Default</description></listheader>
/// <item><term><see cref="SaveEvery"/></term><description>20 steps (0 = never)</description></item>
/// <item><term><see cref="RollingSaveEvery"/></term><description>0 = never</description></item>
/// <item><term><see cref="PeriodicTtlSeconds"/></term><description>604,800 (7 days)</description></item>
/// <item><term><see cref="RollingTtlSeconds"/></term><description>7,200 (2 hours)</description></item>
/// <item><term><see cref="FinalTtlSeconds"/></term><description>null (kept)</description></item>
/// </list>
/// The Tinker API rejects TTLs under 3,600 seconds.
/// </remarks>
public sealed record CheckpointOptions
{
    /// <summary>The smallest TTL the API accepts.</summary>
    public const long MinTtlSeconds = 3600;

    /// <summary>Periodic (state + sampler) checkpoint every this many steps; 0 disables (<c>save_every</c>).</summary>
    public int SaveEvery { get; init; } = 20;

    /// <summary>Rolling (state-only) checkpoint every this many steps; 0 disables (<c>rolling_save_every</c>).</summary>
    public int RollingSaveEvery { get; init; } // 0

    /// <summary>TTL of periodic checkpoints; null keeps them.</summary>
    public long? PeriodicTtlSeconds { get; init; } = 604_800;

    /// <summary>TTL of rolling checkpoints; null keeps them.</summary>
    public long? RollingTtlSeconds { get; init; } = 7_200;

    /// <summary>TTL of the final checkpoint; null keeps it.</summary>
    public long? FinalTtlSeconds { get; init; } // null

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentException">A cadence is negative or a TTL is below <see cref="MinTtlSeconds"/>.</exception>
    public void Validate()
    {
        if (SaveEvery < 0 || RollingSaveEvery < 0)
        {
            throw new ArgumentException($"SaveEvery ({SaveEvery}) and RollingSaveEvery ({RollingSaveEvery}) must be >= 0 (0 disables).");
        }

        foreach (var (name, ttl) in new[] { (nameof(PeriodicTtlSeconds), PeriodicTtlSeconds), (nameof(RollingTtlSeconds), RollingTtlSeconds), (nameof(FinalTtlSeconds), FinalTtlSeconds) })
        {
            if (ttl is < MinTtlSeconds)
            {
                throw new ArgumentException($"{name} is {ttl} s, but the Tinker API rejects TTLs under {MinTtlSeconds} s; use at least {MinTtlSeconds}, or null to keep the checkpoint.");
            }
        }
    }
}
