namespace TinkerFlow.Cookbook.Checkpoints;

/// <summary>The three kinds of checkpoint a training loop writes (the cookbook's <c>CheckpointManager</c>).</summary>
public enum CheckpointKind
{
    /// <summary>Training state plus sampler weights every <c>SaveEvery</c> steps; TTL 7 days by default.</summary>
    Periodic,

    /// <summary>Training state only, every <c>RollingSaveEvery</c> steps; the previous rolling checkpoint is deleted; TTL 2 hours by default.</summary>
    Rolling,

    /// <summary>Training state plus sampler weights at the end of the run; no TTL.</summary>
    Final,
}
