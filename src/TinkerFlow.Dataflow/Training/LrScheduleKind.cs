namespace TinkerFlow.Dataflow;

/// <summary>The shape of the learning-rate decay after warmup (the cookbook's <c>lr_schedule</c>).</summary>
public enum LrScheduleKind
{
    /// <summary>m = 1.</summary>
    Constant,

    /// <summary>m = 1 − p, p the fraction of decay steps done (the cookbook's SFT default).</summary>
    Linear,

    /// <summary>m = ½(1 + cos πp).</summary>
    Cosine,
}
