using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>What one training step produced: the outputs of its forward_backward calls and its optim_step, with timing.</summary>
public sealed record TrainStepResult
{
    /// <summary>The 0-based step index (one optim_step per step).</summary>
    public required int Step { get; init; }

    /// <summary>The step's minibatches, in submission order (one per forward_backward call).</summary>
    public required IReadOnlyList<IReadOnlyList<Datum>> Minibatches { get; init; }

    /// <summary>One output per minibatch, in submission order: per-datum <c>logprobs</c> and <c>elementwise_loss</c>, metrics such as <c>loss:sum</c>.</summary>
    public required IReadOnlyList<ForwardBackwardOutput> ForwardBackward { get; init; }

    /// <summary>The optimizer step's response (its metrics, if the backend returns any).</summary>
    public required OptimStepResponse OptimStep { get; init; }

    /// <summary>The Adam parameters sent with the step.</summary>
    public required AdamParams AdamParams { get; init; }

    /// <summary>When the step's first forward_backward was submitted.</summary>
    public required DateTimeOffset SubmittedAt { get; init; }

    /// <summary>When all of the step's results had arrived.</summary>
    public required DateTimeOffset CompletedAt { get; init; }

    /// <summary>From submission to results; overlapping steps overlap here too.</summary>
    public TimeSpan Elapsed => CompletedAt - SubmittedAt;

    /// <summary>The metrics published for the step (see <see cref="MetricNames"/>).</summary>
    public required IReadOnlyDictionary<string, double> Metrics { get; init; }

    /// <summary>A sampler on the weights right after this step, when <see cref="TrainingStageOptions.SnapshotSamplerAfterEachStep"/> is set.</summary>
    public SamplingClient? SamplingClient { get; init; }

    /// <summary>Every datum of the step, minibatches concatenated.</summary>
    public IEnumerable<Datum> Data => Minibatches.SelectMany(m => m);
}
