namespace TinkerFlow.Http;

/// <summary>The kinds of client whose queue state is reported (wire spec §10.9).</summary>
internal enum QueueSubjectKind
{
    /// <summary>A training client (forward, forward_backward, optim_step, save/load).</summary>
    Training,

    /// <summary>A sampling client (asample).</summary>
    Sampling,

    /// <summary>A create_model call.</summary>
    ModelCreation,
}
