using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>One sampling request for <see cref="SamplingStage"/>, with the caller's state carried through to the result.</summary>
/// <typeparam name="TState">Whatever the caller needs back with the samples (a problem id, an env).</typeparam>
/// <param name="Prompt">The prompt tokens.</param>
/// <param name="NumSamples">Completions to draw.</param>
/// <param name="Params">Max tokens, temperature, stop sequences, seed.</param>
/// <param name="State">Carried to <see cref="SampleResult{TState}.Job"/> unchanged.</param>
public sealed record SampleJob<TState>(ModelInput Prompt, int NumSamples, SamplingParams Params, TState State);
