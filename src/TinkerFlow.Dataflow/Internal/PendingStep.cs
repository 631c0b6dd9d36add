using TinkerFlow.Types;

namespace TinkerFlow.Dataflow.Internal;

/// <summary>A training step whose requests are queued on the backend and whose results are not yet awaited.</summary>
internal sealed class PendingStep(int step, DateTimeOffset submittedAt)
{
    public int Step { get; } = step;

    public DateTimeOffset SubmittedAt { get; } = submittedAt;

    public List<IReadOnlyList<Datum>> Minibatches { get; } = [];

    public List<TinkerFuture<ForwardBackwardOutput>> ForwardBackward { get; } = [];

    public TinkerFuture<OptimStepResponse>? OptimStep { get; set; }

    public AdamParams? AdamParams { get; set; }

    public Task<SamplingClient>? Sampler { get; set; }

    /// <summary>Metrics of the barriers that ran just before this step (evaluations of the weights it starts from).</summary>
    public IReadOnlyDictionary<string, double>? BoundaryMetrics { get; init; }
}
