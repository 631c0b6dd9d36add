using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>The samples for one <see cref="SampleJob{TState}"/>.</summary>
/// <typeparam name="TState">The caller's state type.</typeparam>
/// <param name="Job">The job, with its state.</param>
/// <param name="Response">The sampled sequences.</param>
/// <param name="Latency">From submission to result.</param>
public sealed record SampleResult<TState>(SampleJob<TState> Job, SampleResponse Response, TimeSpan Latency);
