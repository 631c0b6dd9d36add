namespace TinkerFlow.Dataflow;

/// <summary>
/// The one metric vocabulary of TinkerFlow's pipelines, trainers and recipes: the Tinker cookbook's names, so
/// dashboards carry over.
/// </summary>
/// <remarks>
/// Besides these, the training stage forwards every <c>forward_backward</c> metric as <c>train/&lt;key&gt;</c>
/// (e.g. <c>train/loss:sum</c>) and every <c>optim_step</c> metric as <c>optim/&lt;key&gt;</c>.
/// </remarks>
public static class MetricNames
{
    /// <summary>Mean negative log-likelihood per weighted token, −Σ w·logp / Σ w (cross_entropy steps with <c>weights</c> only).</summary>
    public const string TrainNll = "train_mean_nll";

    /// <summary>Number of datums trained in the step.</summary>
    public const string TrainNumDatums = "num_sequences";

    /// <summary>Number of model-input tokens trained in the step.</summary>
    public const string TrainNumTokens = "num_tokens";

    /// <summary>Number of forward_backward calls (minibatches) in the step.</summary>
    public const string TrainNumMinibatches = "train/num_minibatches";

    /// <summary>The learning rate sent with the step's optim_step.</summary>
    public const string OptimLr = "optim/lr";

    /// <summary>Epoch of the step's first datum (supervised trainers).</summary>
    public const string Epoch = "epoch";

    /// <summary>Dataset batch index, within its epoch, of the step's first datum (supervised trainers).</summary>
    public const string ProgressBatch = "progress/batch";

    /// <summary>Held-out mean NLL per weighted token (<c>NllEvaluator</c>).</summary>
    public const string TestNll = "test/nll";

    /// <summary>Held-out bits per byte (<c>NllEvaluator</c>).</summary>
    public const string TestBpb = "test/bpb";

    /// <summary>Seconds an evaluation barrier took.</summary>
    public const string TimeEval = "time/eval";

    /// <summary>The 0-based step index.</summary>
    public const string ProgressStep = "progress/step";

    /// <summary>(step + 1) / total steps, when the total is known.</summary>
    public const string ProgressDoneFrac = "progress/done_frac";

    /// <summary>Steps submitted whose results were not yet awaited, measured when the step's results arrived (this step included).</summary>
    public const string ProgressStepsInFlight = "progress/steps_in_flight";

    /// <summary>Seconds from the step's first submission to the arrival of all its results.</summary>
    public const string TimeStep = "time/step";

    /// <summary>Seconds from the first submission of the pipeline to the arrival of this step's results.</summary>
    public const string TimeTotal = "time/total";

    /// <summary>Mean over the step's rollouts of (step − sampler version that produced the rollout).</summary>
    public const string RlStalenessMean = "sampling_client/step_mean";

    /// <summary>Maximum over the step's rollouts of (step − sampler version); never above the configured max staleness.</summary>
    public const string RlStalenessMax = "sampling_client/step_max";

    /// <summary>The sampler version published after the step (step + 1).</summary>
    public const string RlSamplerVersion = "rl/sampler_version";

    /// <summary>Rollouts trained in the step.</summary>
    public const string RlNumRollouts = "rl/num_rollouts";

    /// <summary>Rollouts running when the step's results arrived.</summary>
    public const string RlRolloutsInFlight = "rl/rollouts_in_flight";

    /// <summary>Finished rollouts waiting for their batch when the step's results arrived.</summary>
    public const string RlRolloutsBuffered = "rl/rollouts_buffered";
}
