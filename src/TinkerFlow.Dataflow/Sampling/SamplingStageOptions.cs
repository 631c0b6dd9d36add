namespace TinkerFlow.Dataflow;

/// <summary>Settings of <see cref="SamplingStage.Build{TState}(SamplingClient, SamplingStageOptions?)"/>.</summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="MaxConcurrency"/></term><description>32 sampling requests at once</description></item>
/// <item><term><see cref="BoundedCapacity"/></term><description>null = 2 × <see cref="MaxConcurrency"/></description></item>
/// <item><term><see cref="EnsureOrdered"/></term><description>false (results as they finish)</description></item>
/// <item><term><see cref="TimeProvider"/></term><description><see cref="TimeProvider.System"/></description></item>
/// <item><term><see cref="CancellationToken"/></term><description>none</description></item>
/// </list>
/// </remarks>
public sealed record SamplingStageOptions
{
    /// <summary>At most this many sampling requests are in flight at once.</summary>
    public int MaxConcurrency { get; init; } = 32;

    /// <summary>Jobs held (queued, running and finished-but-unread) before <c>SendAsync</c> waits. Null: 2 × <see cref="MaxConcurrency"/>.</summary>
    public int? BoundedCapacity { get; init; }

    /// <summary>Emit results in job order (true) or as they finish (false).</summary>
    public bool EnsureOrdered { get; init; }

    /// <summary>The clock for <see cref="SampleResult{TState}.Latency"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Cancels the stage.</summary>
    public CancellationToken CancellationToken { get; init; }
}
