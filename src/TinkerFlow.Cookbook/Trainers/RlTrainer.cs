using System.Globalization;
using System.Reactive.Subjects;
using System.Text;
using System.Threading.Tasks.Dataflow;
using TinkerFlow.Cookbook.Checkpoints;
using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Dataflow;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Trainers;

/// <summary>An evaluation of a sampler (the weights after exactly a step boundary's steps), e.g. held-out accuracy.</summary>
/// <param name="Name">For descriptions.</param>
/// <param name="RunAsync">Scores the sampler; returns metrics (e.g. <c>test/env/all/correct</c>).</param>
public sealed record SamplerEvaluation(string Name, Func<SamplingClient, CancellationToken, Task<IReadOnlyDictionary<string, double>>> RunAsync);

/// <summary>Settings of an <see cref="RlTrainer{TItem}"/>.</summary>
public sealed record RlTrainerOptions
{
    /// <summary>The run's log directory (<c>checkpoints.jsonl</c>).</summary>
    public required string LogPath { get; init; }

    /// <summary>Train until this global step (exclusive).</summary>
    public required int MaxSteps { get; init; }

    /// <summary>Groups (items) per step: the cookbook's <c>groups_per_batch</c>.</summary>
    public required int GroupsPerBatch { get; init; }

    /// <summary>The learning-rate schedule.</summary>
    public required LrSchedule LearningRate { get; init; }

    /// <summary>Betas, epsilon; null for the SDK defaults.</summary>
    public AdamParams? Adam { get; init; }

    /// <summary>0 = synchronous on-policy RL (sample on the latest weights, train, repeat); k = rollouts for step s may start on weights as old as s − k (admission control, nothing discarded).</summary>
    public int MaxStaleness { get; init; }

    /// <summary>Streaming minibatches per step (each submitted when its groups are done); must divide <see cref="GroupsPerBatch"/>.</summary>
    public int MinibatchesPerStep { get; init; } = 1;

    /// <summary>The loss: <c>importance_sampling</c> by default, or <c>ppo</c>, <c>cispo</c>, a custom submission.</summary>
    public TrainingLoss Loss { get; init; } = TrainingLoss.BuiltIn(LossFnType.ImportanceSampling);

    /// <summary>A reference model whose per-token KL from the policy joins the advantages (the cookbook's <c>kl_penalty_coef</c>, §3.6); null for none. A distillation run's teacher (see <see cref="DistillationTrainer"/>).</summary>
    public KlReference? KlReference { get; init; }

    /// <summary>Drop groups whose rewards are all equal (they carry no group-centred advantage); false keeps them, as distillation must (its rewards are all 0).</summary>
    public bool RemoveConstantRewardGroups { get; init; } = true;

    /// <summary>Evaluations of the sampler every <see cref="EvalEvery"/> steps and after the last step.</summary>
    public IReadOnlyList<SamplerEvaluation> Evaluations { get; init; } = [];

    /// <summary>Steps between evaluations; 0 = only after the last step.</summary>
    public int EvalEvery { get; init; }

    /// <summary>Checkpoint cadences and TTLs.</summary>
    public CheckpointOptions Checkpoints { get; init; } = new();

    /// <summary>Cancels the run.</summary>
    public CancellationToken CancellationToken { get; init; }
}

/// <summary>
/// GRPO-style RL as one Dataflow graph: the items of each step → <see cref="RlPipeline{TItem, TRollout}"/> (admission
/// with bounded staleness → rollouts on the latest sampler, each scored by the <see cref="RlTrainerOptions.KlReference"/>
/// when there is one → minibatch assembly → <see cref="TrainingStage"/> with evaluations and checkpoints as step
/// barriers) → one <see cref="IObservable{MetricRecord}"/>. Each minibatch's groups become datums with group-centred
/// advantages (constant-reward groups dropped unless told otherwise), plus the reference's KL penalty; its per-step
/// metrics are the cookbook's <c>env/all/*</c>, <c>optim/kl_sample_train_*</c>, <c>sampling_client/step_*</c> and the
/// reference's KL metric (<c>kl_policy_base</c>, or <c>teacher_kl</c> when distilling). Resume: start it from
/// <see cref="TrainerRun.StartOrResumeAsync"/>; the data cursor is the step, since each step's items and sampling seeds are
/// functions of it.
/// </summary>
/// <remarks>
/// The trainer keeps no random state of its own, so there is none to checkpoint: a step's items come from
/// <c>itemsForStep(step)</c> and each rollout is handed (step, index within the step), from which the rollout derives
/// its sampling seed (MathRl: seed·1,000,003 + step·1,000 + index), so a resumed run draws the same problems and samples
/// with the same seeds as an uninterrupted one. <see cref="LoopState.RngSeed"/> and <see cref="LoopState.RngState"/> are
/// carried over from the start state unchanged. With <see cref="RlTrainerOptions.MaxStaleness"/> above 0, which
/// sampler version a rollout starts on depends on timing, in a resumed run as in any other.
/// </remarks>
/// <typeparam name="TItem">A problem (an environment builder).</typeparam>
public sealed class RlTrainer<TItem>
{
    private readonly TrainerRun _run;
    private readonly SamplingClient _initialSampler;
    private readonly Func<int, IReadOnlyList<TItem>> _itemsForStep;
    private readonly RlTrainerOptions _options;
    private readonly RlPipeline<(TItem Item, int Step, int Index), ScoredGroup> _pipeline;
    private readonly Subject<RlStepResult<TrajectoryGroup>> _steps = new();

    /// <summary>Builds the graph.</summary>
    /// <param name="run">The client and loop state to start from.</param>
    /// <param name="initialSampler">A sampler on the run's current weights (version = the run's step).</param>
    /// <param name="itemsForStep">The items of a global step (<see cref="RlTrainerOptions.GroupsPerBatch"/> of them), a pure function of the step so a resumed run sees the same ones.</param>
    /// <param name="rollout">One group: (sampler, item, step, index within the step, token) → the group.</param>
    /// <param name="options">The settings.</param>
    public RlTrainer(
        TrainerRun run,
        SamplingClient initialSampler,
        Func<int, IReadOnlyList<TItem>> itemsForStep,
        Func<SamplingClient, TItem, int, int, CancellationToken, Task<TrajectoryGroup>> rollout,
        RlTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(initialSampler);
        ArgumentNullException.ThrowIfNull(itemsForStep);
        ArgumentNullException.ThrowIfNull(rollout);
        ArgumentNullException.ThrowIfNull(options);
        _run = run;
        _initialSampler = initialSampler;
        _itemsForStep = itemsForStep;
        _options = options;
        var first = run.State.Step;
        List<StepBarrier> barriers = [];
        if (options.Evaluations.Count > 0)
        {
            barriers.Add(EvaluateBarrier());
        }

        barriers.Add(TrainerBarriers.Checkpoint(new CheckpointManager(run.Client, options.LogPath, options.Checkpoints), first, b => run.State with { Epoch = 0, Batch = b.Step, Item = 0, Step = b.Step }));
        PipelineOptions = new RlPipelineOptions
        {
            RolloutsPerStep = options.GroupsPerBatch,
            MaxStaleness = options.MaxStaleness,
            MinibatchesPerStep = options.MinibatchesPerStep,
            CancellationToken = options.CancellationToken,
            Training = new TrainingStageOptions
            {
                Loss = options.Loss,
                FirstStep = first,
                TotalSteps = options.MaxSteps,
                AdamParams = options.LearningRate.ToAdamParams(options.Adam),
                Barriers = barriers,
            },
        };
        _pipeline = new RlPipeline<(TItem Item, int Step, int Index), ScoredGroup>(
            run.Client,
            initialSampler,
            async (sampler, _, x, ct) => await ScoreAsync(await rollout(sampler, x.Item, x.Step, x.Index, ct).ConfigureAwait(false), ct).ConfigureAwait(false),
            groups => [.. BuildDatums(groups).Datums.Select(d => d.Datum)],
            PipelineOptions,
            StepMetrics);
        _pipeline.Output.LinkTo(new ActionBlock<RlStepResult<ScoredGroup>>(r => _steps.OnNext(new RlStepResult<TrajectoryGroup>(
            r.Train,
            [.. r.Rollouts.Select(v => new VersionedRollout<TrajectoryGroup>(v.Rollout.Group, v.SamplerVersion, v.Index, v.Step))],
            r.SamplerVersion,
            r.Metrics,
            [.. r.MinibatchRollouts.Select(m => (IReadOnlyList<TrajectoryGroup>)[.. m.Select(g => g.Group)])]))));
    }

    /// <summary>The RL pipeline's options, as built.</summary>
    public RlPipelineOptions PipelineOptions { get; }

    /// <summary>One record per step, then the final evaluation's record at <c>MaxSteps</c>.</summary>
    public IObservable<MetricRecord> Metrics => _pipeline.Metrics;

    /// <summary>Every step's result (its groups and training outputs), in order.</summary>
    public IObservable<RlStepResult<TrajectoryGroup>> Steps => _steps;

    /// <summary>Feeds each step's items and runs until <c>MaxSteps</c>, the final evaluation and checkpoint included.</summary>
    /// <returns>A task that surfaces the graph's first fault.</returns>
    public async Task RunAsync()
    {
        var produce = Task.Run(async () =>
        {
            try
            {
                for (var step = _run.State.Step; step < _options.MaxSteps; step++)
                {
                    var items = _itemsForStep(step);
                    for (var i = 0; i < items.Count; i++)
                    {
                        if (!await _pipeline.Input.SendAsync((items[i], step, i)).ConfigureAwait(false))
                        {
                            return;
                        }
                    }
                }

                _pipeline.Input.Complete();
            }
            catch (Exception ex)
            {
                _pipeline.Input.Fault(ex);
            }
        });
        try
        {
            await Task.WhenAll(produce, _pipeline.Completion).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _steps.OnError(ex);
            throw;
        }

        _steps.OnCompleted();
    }

    /// <summary>The graph, block by block (a recipe's <c>--describe</c>).</summary>
    /// <param name="sourceName">What the items are.</param>
    /// <returns>Several lines.</returns>
    public string Describe(string sourceName)
    {
        var o = PipelineOptions;
        var t = o.Training;
        var text = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        text.AppendLine(ci, $"source        {sourceName}; steps {t.FirstStep} … {_options.MaxSteps - 1}, {o.RolloutsPerStep} groups per step");
        text.AppendLine(ci, $"  → admission       max staleness {o.MaxStaleness} ({(o.MaxStaleness == 0 ? "synchronous, on-policy" : "asynchronous, bounded")}); buffers {o.InputCapacity ?? o.RolloutsPerStep} items");
        text.AppendLine(ci, $"  → rollouts        ≤ {o.MaxConcurrentRollouts ?? o.RolloutsPerStep * (o.MaxStaleness + 1)} concurrent groups on the latest sampler{(_options.KlReference is { } r ? $", then {r.Name} scores every sampled token" : string.Empty)}");
        text.AppendLine(ci, $"  → assembler       {o.MinibatchesPerStep} minibatch(es) per step, oldest sampler version first; datums = group-centred advantages{(_options.RemoveConstantRewardGroups ? ", constant groups dropped" : string.Empty)}{(_options.KlReference is { } k ? $" + KL penalty A_t += {k.Coefficient.ToString(ci)}·(d̄ − d_t), d_t = log q − log p_{k.Name}{(k.Discount > 0 ? $", discount {k.Discount.ToString(ci)}" : string.Empty)} ({k.MetricName} = d̄)" : string.Empty)}");
        text.AppendLine(ci, $"  → TrainingStage   loss {t.Loss}; submit-ahead {t.SubmitAhead}; sampler snapshot after each step; buffers {t.InputCapacity} in, {t.OutputCapacity} out");
        foreach (var barrier in t.Barriers)
        {
            text.AppendLine(ci, $"      barrier       {barrier.Name}; drains in-flight steps first");
        }

        text.AppendLine("  → results       IObservable<MetricRecord>, one record per step");
        text.Append(ci, $"  learning rate   {_options.LearningRate}");
        return text.ToString();
    }

    /// <summary>The reference's logprobs of a group's sampled tokens, fetched in the rollout stage (concurrently with other groups' sampling).</summary>
    private async Task<ScoredGroup> ScoreAsync(TrajectoryGroup group, CancellationToken ct) =>
        _options.KlReference is { } reference
            ? new ScoredGroup(group, await KlPenalty.ComputeReferenceLogprobsAsync(reference.Sampler, TrajectoryToDatum.FromGroups([group]).Datums, ct).ConfigureAwait(false))
            : new ScoredGroup(group, null);

    /// <summary>A minibatch's datums (a pure function of its groups): group-centred advantages, then the KL penalty, whose d̄ is returned (NaN without a reference).</summary>
    private (IReadOnlyList<RlDatum> Datums, double KlMean, double KlTokens) BuildDatums(IReadOnlyList<ScoredGroup> groups_P)
    {
        var kept = _options.RemoveConstantRewardGroups ? ConstantRewardGroups.Remove(groups_P, g => g.Group.GetTotalRewards()) : groups_P;
        var datums_D = TrajectoryToDatum.FromGroups([.. kept.Select(g => g.Group)]).Datums;
        if (_options.KlReference is not { } reference)
        {
            return (datums_D, double.NaN, 0);
        }

        var (penalized_D, mean) = KlPenalty.Apply(datums_D, [.. kept.SelectMany(g => g.ReferenceLogprobs_D!)], reference.Coefficient, reference.Discount);
        return (penalized_D, mean, datums_D.Sum(d => d.Mask.Sum(m => (double)m)));
    }

    private IReadOnlyDictionary<string, double> StepMetrics(RlStepResult<ScoredGroup> result)
    {
        var metrics = new Dictionary<string, double>(EnvMetrics.Compute([.. result.Rollouts.Select(r => r.Rollout.Group)]), StringComparer.Ordinal);
        // The action masks stay on the client: rebuild each minibatch's datums from its groups (a pure function) and
        // pair them with that minibatch's training logprobs.
        var datums = new List<RlDatum>();
        var logprobs = new List<float[]>();
        double klSum = 0, klTokens = 0;
        for (var m = 0; m < result.MinibatchRollouts.Count; m++)
        {
            var (minibatch, klMean, tokens) = BuildDatums(result.MinibatchRollouts[m]);
            datums.AddRange(minibatch);
            logprobs.AddRange(result.Train.ForwardBackward[m].LossFnOutputs.Select(o => o["logprobs"].ToFloat32Array()));
            klSum += tokens > 0 ? klMean * tokens : 0;
            klTokens += tokens;
        }

        foreach (var (key, value) in KlMetrics.Compute(datums, logprobs))
        {
            metrics[key] = value;
        }

        if (_options.KlReference is { } reference)
        {
            metrics[reference.MetricName] = klTokens > 0 ? klSum / klTokens : 0;
        }

        return metrics;
    }

    /// <summary>A sampled group and, with a <see cref="RlTrainerOptions.KlReference"/>, the reference's logprobs of its datums' target tokens.</summary>
    private sealed record ScoredGroup(TrajectoryGroup Group, IReadOnlyList<float[]>? ReferenceLogprobs_D);

    private StepBarrier EvaluateBarrier() => new(
        $"evaluate {string.Join(", ", _options.Evaluations.Select(e => e.Name))} on the sampler {(_options.EvalEvery > 0 ? $"every {_options.EvalEvery} steps" : "at the end")}",
        step => _options.EvalEvery > 0 && step % _options.EvalEvery == 0,
        async (boundary, ct) =>
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var sampler = boundary.Sampler ?? _initialSampler;
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var evaluation in _options.Evaluations)
            {
                foreach (var (key, value) in await evaluation.RunAsync(sampler, ct).ConfigureAwait(false))
                {
                    metrics[key] = value;
                }
            }

            metrics[MetricNames.TimeEval] = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            return metrics;
        });
}
