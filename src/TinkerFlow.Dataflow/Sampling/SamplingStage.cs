using System.Threading.Tasks.Dataflow;
using TinkerFlow.Dataflow.Internal;

namespace TinkerFlow.Dataflow;

/// <summary>A bounded fan-out of sampling requests with a concurrency limit.</summary>
/// <example>
/// <code>
/// var sampling = SamplingStage.Build&lt;int&gt;(samplingClient, new SamplingStageOptions { MaxConcurrency = 16 });
/// sampling.LinkTo(grader, new DataflowLinkOptions { PropagateCompletion = true });
/// foreach (var (prompt, id) in prompts) await sampling.SendAsync(new SampleJob&lt;int&gt;(prompt, 4, new SamplingParams { MaxTokens = 256 }, id));
/// sampling.Complete();
/// await grader.Completion;
/// </code>
/// </example>
public static class SamplingStage
{
    /// <summary>Builds a stage that samples every job from one sampling client.</summary>
    /// <typeparam name="TState">The caller's state type.</typeparam>
    /// <param name="samplingClient">The sampler.</param>
    /// <param name="options">Concurrency and capacity; null for the defaults.</param>
    /// <returns>A block from jobs to results; a failed request faults it (surfacing at its <c>Completion</c>).</returns>
    public static IPropagatorBlock<SampleJob<TState>, SampleResult<TState>> Build<TState>(SamplingClient samplingClient, SamplingStageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(samplingClient);
        return Build<TState>(() => samplingClient, options);
    }

    /// <summary>Builds a stage that asks <paramref name="currentSampler"/> for the sampler at the start of every job (so a newer snapshot is picked up).</summary>
    /// <typeparam name="TState">The caller's state type.</typeparam>
    /// <param name="currentSampler">Returns the sampler to use now.</param>
    /// <param name="options">Concurrency and capacity; null for the defaults.</param>
    /// <returns>A block from jobs to results; a failed request faults it.</returns>
    public static IPropagatorBlock<SampleJob<TState>, SampleResult<TState>> Build<TState>(Func<SamplingClient> currentSampler, SamplingStageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(currentSampler);
        options ??= new SamplingStageOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrency, 1, nameof(options.MaxConcurrency));
        var capacity = options.BoundedCapacity ?? 2 * options.MaxConcurrency;
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1, nameof(options.BoundedCapacity));
        var token = options.CancellationToken;
        var time = options.TimeProvider;
        return new TransformBlock<SampleJob<TState>, SampleResult<TState>>(
            job => Cancellation.NotSilentAsync(
                async () =>
                {
                    ArgumentNullException.ThrowIfNull(job);
                    var started = time.GetTimestamp();
                    var future = await currentSampler().SampleAsync(WaitUntil.Started, job.Prompt, job.NumSamples, job.Params, cancellationToken: token).ConfigureAwait(false);
                    var response = await future.WaitForCompletionAsync(token).ConfigureAwait(false);
                    return new SampleResult<TState>(job, response, time.GetElapsedTime(started));
                },
                token,
                "A sampling request"),
            new ExecutionDataflowBlockOptions
            {
                MaxDegreeOfParallelism = options.MaxConcurrency,
                BoundedCapacity = capacity,
                EnsureOrdered = options.EnsureOrdered,
                CancellationToken = token,
            });
    }
}
