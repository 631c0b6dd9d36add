namespace TinkerFlow.Local;

/// <summary>When forward_backward recomputes decoder layers instead of storing their activations.</summary>
public enum ActivationCheckpointing
{
    /// <summary>
    /// Checkpoint as few layers as keep a micro-batch's estimated activations within
    /// <see cref="LocalBackendOptions.ActivationMemoryBudgetBytes"/> (none when everything fits).
    /// </summary>
    Auto,

    /// <summary>Checkpoint every decoder layer (least memory, about one more forward pass of compute).</summary>
    Always,

    /// <summary>Never checkpoint (fastest, most memory).</summary>
    Never,
}
