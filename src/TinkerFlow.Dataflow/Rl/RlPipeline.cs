using System.Collections.Concurrent;
using System.Reactive.Subjects;
using System.Threading.Tasks.Dataflow;
using TinkerFlow.Dataflow.Internal;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>
/// Asynchronous RL with bounded staleness by admission control: items (problems, env-group builders) go in, rollouts
/// run on the latest sampler, finished rollouts are trained oldest-first, and a new sampler is published after every
/// step. Finished work is never discarded or re-queued (the fix for the cookbook's discard-and-requeue flaw, PR #822).
/// </summary>
/// <typeparam name="TItem">What a rollout starts from (a prompt, an env-group builder).</typeparam>
/// <typeparam name="TRollout">What a rollout produces (a trajectory group).</typeparam>
/// <remarks>
/// <para>The k-th admitted item (0-based) is destined for step <c>s = k / RolloutsPerStep</c>. It starts only when the
/// latest sampler version <c>v</c> (optimizer steps in its weights; the initial sampler is 0) satisfies
/// <c>s − v ≤ MaxStaleness</c>, and it runs on that latest sampler. Every rollout is therefore trained with
/// staleness in <c>[0, MaxStaleness]</c>, batches hold rollouts of non-decreasing versions (oldest first), and a slow
/// rollout delays its own step instead of being thrown away.</para>
/// <para>Graph: input/admission (1 at a time, waits on the version gate) → rollouts (at most
/// <see cref="RlPipelineOptions.MaxConcurrentRollouts"/> at once) → assembler (orders finished rollouts by admission
/// slot, builds datums per minibatch) → <see cref="TrainingStage"/> (submit-ahead, sampler snapshot after each
/// optim_step) → publisher (new sampler version, metrics) → <see cref="Output"/>.</para>
/// <para>Completing <see cref="Input"/> trains every admitted rollout, the last step possibly partial, then completes.
/// A rollout that throws fails the pipeline (fail-fast); the fault surfaces at <see cref="Completion"/>.</para>
/// </remarks>
/// <example>
/// <code>
/// var sampler0 = await trainer.SaveWeightsAndGetSamplingClientAsync();
/// var rl = new RlPipeline&lt;Problem, Group&gt;(
///     trainer, sampler0,
///     rollout: (sampler, version, problem, ct) =&gt; RunGroupAsync(sampler, problem, ct),
///     buildDatums: groups =&gt; groups.SelectMany(ToDatums).ToList(),
///     new RlPipelineOptions { RolloutsPerStep = 64, MaxStaleness = 1 });
/// rl.Output.LinkTo(DataflowBlock.NullTarget&lt;RlStepResult&lt;Group&gt;&gt;());
/// foreach (var p in problems) { if (!await rl.Input.SendAsync(p)) break; }
/// rl.Input.Complete();
/// await rl.Completion;
/// </code>
/// </example>
public sealed class RlPipeline<TItem, TRollout>
{
    private readonly Func<SamplingClient, int, TItem, CancellationToken, Task<TRollout>> _rolloutWork;
    private readonly Func<IReadOnlyList<TRollout>, IReadOnlyList<Datum>> _buildDatums;
    private readonly RlPipelineOptions _options;
    private readonly int _perMinibatch;
    private readonly GraphSupervisor _supervisor;
    private readonly VersionGate _gate;
    private readonly Subject<MetricRecord> _metrics = new();
    private readonly TransformBlock<TItem, Admission<TItem>> _admit;
    private readonly TransformBlock<Admission<TItem>, VersionedRollout<TRollout>> _rollouts;
    private readonly ActionBlock<VersionedRollout<TRollout>> _assemble;
    private readonly TrainingStage _stage;
    private readonly TransformBlock<TrainStepResult, RlStepResult<TRollout>> _publish;
    private readonly ConcurrentDictionary<int, List<List<VersionedRollout<TRollout>>>> _trainedByStep = new();
    private readonly Func<RlStepResult<TRollout>, IReadOnlyDictionary<string, double>>? _stepMetrics;
    private MetricRecord? _finalRecord;
    private readonly SortedDictionary<long, VersionedRollout<TRollout>> _finished = [];
    private long _admitted;
    private long _nextSlot;
    private int _running;
    private int _buffered;
    private int _stepsTrained;

    /// <summary>Builds and starts the pipeline.</summary>
    /// <param name="trainingClient">The model being trained.</param>
    /// <param name="initialSampler">The sampler for version 0, e.g. from <see cref="TrainingClient.SaveWeightsAndGetSamplingClientAsync(SamplingRetryConfig, CancellationToken)"/>.</param>
    /// <param name="rollout">
    /// One rollout: given the latest sampler, its version, the item and a cancellation token, returns the rollout.
    /// Runs concurrently with other rollouts; it must not swallow the token.
    /// </param>
    /// <param name="buildDatums">Turns one minibatch of finished rollouts (oldest version first) into datums for the loss, e.g. advantages and sampler logprobs for <c>importance_sampling</c>. Must return at least one datum.</param>
    /// <param name="options">Batch size, staleness bound, concurrency, trainer settings.</param>
    /// <param name="stepMetrics">Extra metrics of a step from its result (e.g. rewards of its rollouts, KL of its minibatches), merged into its record; null for none.</param>
    public RlPipeline(
        TrainingClient trainingClient,
        SamplingClient initialSampler,
        Func<SamplingClient, int, TItem, CancellationToken, Task<TRollout>> rollout,
        Func<IReadOnlyList<TRollout>, IReadOnlyList<Datum>> buildDatums,
        RlPipelineOptions options,
        Func<RlStepResult<TRollout>, IReadOnlyDictionary<string, double>>? stepMetrics = null)
    {
        _stepMetrics = stepMetrics;
        ArgumentNullException.ThrowIfNull(trainingClient);
        ArgumentNullException.ThrowIfNull(initialSampler);
        ArgumentNullException.ThrowIfNull(rollout);
        ArgumentNullException.ThrowIfNull(buildDatums);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _rolloutWork = rollout;
        _buildDatums = buildDatums;
        _options = options;
        _perMinibatch = options.RolloutsPerStep / options.MinibatchesPerStep;
        _supervisor = new GraphSupervisor(options.CancellationToken);
        _gate = new VersionGate(initialSampler, options.Training.FirstStep);
        var token = options.CancellationToken;
        var concurrency = options.EffectiveMaxConcurrentRollouts;

        _admit = _supervisor.Watch(new TransformBlock<TItem, Admission<TItem>>(
            AdmitAsync,
            new ExecutionDataflowBlockOptions { BoundedCapacity = options.InputCapacity ?? options.RolloutsPerStep, MaxDegreeOfParallelism = 1, CancellationToken = token }));
        _rollouts = _supervisor.Watch(new TransformBlock<Admission<TItem>, VersionedRollout<TRollout>>(
            RunRolloutAsync,
            new ExecutionDataflowBlockOptions { BoundedCapacity = concurrency, MaxDegreeOfParallelism = concurrency, EnsureOrdered = false, CancellationToken = token }));
        _assemble = _supervisor.Watch(new ActionBlock<VersionedRollout<TRollout>>(
            r => Cancellation.NotSilentAsync(() => AssembleAsync(r), _supervisor.StopToken, "Assembling a minibatch"),
            new ExecutionDataflowBlockOptions { BoundedCapacity = concurrency, MaxDegreeOfParallelism = 1, CancellationToken = token }));
        _stage = new TrainingStage(trainingClient, options.Training with
        {
            MinibatchesPerStep = options.MinibatchesPerStep,
            SnapshotSamplerAfterEachStep = true,
            CancellationToken = token,
        });
        _supervisor.Watch(_stage.Input);
        _supervisor.WatchTask(_stage.Completion);
        // The end barriers' record (final evaluation) follows the last step's record once the graph is done.
        _stage.Metrics.Subscribe(r => { if (!r.Metrics.ContainsKey(MetricNames.ProgressStep)) { _finalRecord = r; } }, _ => { });
        _publish = _supervisor.Watch(new TransformBlock<TrainStepResult, RlStepResult<TRollout>>(
            Publish,
            new ExecutionDataflowBlockOptions { BoundedCapacity = options.Training.OutputCapacity, MaxDegreeOfParallelism = 1, CancellationToken = token }));

        var propagate = new DataflowLinkOptions { PropagateCompletion = true };
        _admit.LinkTo(_rollouts, propagate);
        _rollouts.LinkTo(_assemble, propagate);
        _supervisor.WatchTask(CompletionLink.Propagate(_assemble.Completion, _stage.Input, FlushAsync));
        _stage.Output.LinkTo(_publish, propagate);

        Completion = CompleteAsync();
    }

    /// <summary>Where items go in. Bounded: use <c>SendAsync</c>; it returns false once the pipeline is failing. Complete it to finish.</summary>
    public ITargetBlock<TItem> Input => _admit;

    /// <summary>One <see cref="RlStepResult{TRollout}"/> per step, in step order. Link it to a consumer; an unread output stalls the pipeline.</summary>
    public ISourceBlock<RlStepResult<TRollout>> Output => _publish;

    /// <summary>Completes when every block has finished: faulted with the first fault, cancelled when <see cref="RlPipelineOptions.CancellationToken"/> fired.</summary>
    public Task Completion { get; }

    /// <summary>One <see cref="MetricRecord"/> per step: the training metrics plus <c>sampling_client/step_mean</c>, <c>sampling_client/step_max</c>, <c>rl/sampler_version</c>, …</summary>
    public IObservable<MetricRecord> Metrics => _metrics;

    /// <summary>The latest published sampler version (optimizer steps in its weights).</summary>
    public int SamplerVersion => _gate.Current.Version;

    /// <summary>Rollouts currently running.</summary>
    public int RolloutsInFlight => Volatile.Read(ref _running);

    /// <summary>Finished rollouts waiting for the rest of their minibatch.</summary>
    public int RolloutsBuffered => Volatile.Read(ref _buffered);

    /// <summary>Steps trained and published so far.</summary>
    public int StepsTrained => Volatile.Read(ref _stepsTrained);

    private async Task<Admission<TItem>> AdmitAsync(TItem item)
    {
        var index = _admitted++;
        var step = _options.Training.FirstStep + (int)(index / _options.RolloutsPerStep);
        var minibatch = (int)(index % _options.RolloutsPerStep) / _perMinibatch;
        // Admission control: start only once the latest sampler is at most MaxStaleness steps behind the step that
        // will train this rollout. Later versions only make the bound easier to hold.
        await _gate.WaitForVersionAsync(step - _options.MaxStaleness, _supervisor.StopToken).ConfigureAwait(false);
        return new Admission<TItem>(item, index, step, minibatch);
    }

    private Task<VersionedRollout<TRollout>> RunRolloutAsync(Admission<TItem> admission) =>
        Cancellation.NotSilentAsync(
            async () =>
            {
                var (sampler, version) = _gate.Current;
                Interlocked.Increment(ref _running);
                try
                {
                    var result = await _rolloutWork(sampler, version, admission.Item, _supervisor.StopToken).ConfigureAwait(false);
                    Interlocked.Increment(ref _buffered);
                    return new VersionedRollout<TRollout>(result, version, admission.Index, admission.Step);
                }
                finally
                {
                    Interlocked.Decrement(ref _running);
                }
            },
            _supervisor.StopToken,
            "A rollout");

    private async Task AssembleAsync(VersionedRollout<TRollout> rollout)
    {
        _finished.Add(rollout.Index, rollout);
        while (true)
        {
            var minibatchStart = _nextSlot;
            var minibatchEnd = minibatchStart + _perMinibatch;
            for (var slot = minibatchStart; slot < minibatchEnd; slot++)
            {
                if (!_finished.ContainsKey(slot))
                {
                    return;
                }
            }

            await EmitAsync(minibatchStart, minibatchEnd).ConfigureAwait(false);
        }
    }

    private Task FlushAsync() =>
        _finished.Count == 0 ? Task.CompletedTask : EmitAsync(_nextSlot, _nextSlot + _finished.Count);

    private async Task EmitAsync(long start, long end)
    {
        var minibatch = new List<VersionedRollout<TRollout>>((int)(end - start));
        for (var slot = start; slot < end; slot++)
        {
            if (!_finished.Remove(slot, out var r))
            {
                throw new InvalidOperationException($"Rollout {slot} is missing from its minibatch; this is a bug in RlPipeline.");
            }

            minibatch.Add(r);
        }

        _nextSlot = end;
        Interlocked.Add(ref _buffered, -minibatch.Count);
        minibatch.Sort((a, b) => a.SamplerVersion != b.SamplerVersion ? a.SamplerVersion.CompareTo(b.SamplerVersion) : a.Index.CompareTo(b.Index));
        var step = minibatch[0].Step;
        var datums = _buildDatums(minibatch.Select(r => r.Rollout).ToList())
            ?? throw new InvalidOperationException("buildDatums returned null.");
        if (datums.Count == 0)
        {
            throw new InvalidOperationException($"buildDatums returned no datums for a minibatch of step {step}; return at least one datum (e.g. keep one constant-reward group).");
        }

        _trainedByStep.AddOrUpdate(step, _ => [minibatch], (_, list) => { list.Add(minibatch); return list; });
        if (!await _stage.Input.SendAsync(datums, _supervisor.StopToken).ConfigureAwait(false))
        {
            throw new OperationCanceledException("The trainer declined a minibatch; the pipeline is stopping.");
        }
    }

    private RlStepResult<TRollout> Publish(TrainStepResult train)
    {
        var version = train.Step + 1;
        _gate.Publish(train.SamplingClient ?? throw new InvalidOperationException("The training stage returned no sampler snapshot."), version);
        _trainedByStep.TryRemove(train.Step, out var minibatches);
        minibatches ??= [];
        var rollouts = minibatches.SelectMany(m => m).ToList();
        rollouts.Sort((a, b) => a.SamplerVersion != b.SamplerVersion ? a.SamplerVersion.CompareTo(b.SamplerVersion) : a.Index.CompareTo(b.Index));
        var metrics = new Dictionary<string, double>(train.Metrics, StringComparer.Ordinal)
        {
            [MetricNames.RlNumRollouts] = rollouts.Count,
            [MetricNames.RlSamplerVersion] = version,
            [MetricNames.RlRolloutsInFlight] = RolloutsInFlight,
            [MetricNames.RlRolloutsBuffered] = RolloutsBuffered,
        };
        if (rollouts.Count > 0)
        {
            metrics[MetricNames.RlStalenessMean] = rollouts.Average(r => r.Staleness);
            metrics[MetricNames.RlStalenessMax] = rollouts.Max(r => r.Staleness);
        }

        var result = new RlStepResult<TRollout>(train, rollouts, version, metrics, [.. minibatches.Select(m => (IReadOnlyList<TRollout>)[.. m.Select(r => r.Rollout)])]);
        if (_stepMetrics?.Invoke(result) is { } extra)
        {
            foreach (var (key, value) in extra)
            {
                metrics[key] = value;
            }
        }

        Interlocked.Increment(ref _stepsTrained);
        _metrics.OnNext(new MetricRecord(train.Step, metrics, train.CompletedAt));
        return result;
    }

    /// <summary>Waits for every block, then ends <see cref="Metrics"/> before <see cref="Completion"/> completes, so awaiting callers see a finished stream.</summary>
    private async Task CompleteAsync()
    {
        try
        {
            await _supervisor.Completion.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _metrics.OnError(ex);
            throw;
        }

        if (_finalRecord is { } final)
        {
            _metrics.OnNext(final);
        }

        _metrics.OnCompleted();
    }
}
