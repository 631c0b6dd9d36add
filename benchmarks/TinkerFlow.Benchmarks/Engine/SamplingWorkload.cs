using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Sampling;
using TinkerFlow.Types;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>
/// <c>asample</c> through the engine's <see cref="Sampler"/> with the training client's adapter, as
/// <c>LocalBackend</c> calls it: one call with num_samples = N, or N calls with num_samples = 1. Temperature 1, no stop
/// condition, so every sample is exactly <see cref="BenchSizes.SampleTokens"/> tokens long.
/// </summary>
internal sealed class SamplingWorkload
{
    private readonly BenchEngine _engine;
    private readonly Sampler _sampler = new();
    private readonly int[] _prompt;

    /// <summary>Prepares a random prompt of the engine's sampling sizes.</summary>
    public SamplingWorkload(BenchEngine engine, int seed = 7)
    {
        _engine = engine;
        _prompt = RequestFactory.Prompt(engine.Sizes.SamplePrompt, engine.Sizes.Model.VocabSize, seed);
    }

    /// <summary>One call with num_samples = <see cref="BenchSizes.SampleCount"/>; returns the total tokens sampled.</summary>
    public int SampleBatched() => Sample(_engine.Sizes.SampleCount, seed: 1);

    /// <summary><see cref="BenchSizes.SampleCount"/> calls with num_samples = 1; returns the total tokens sampled.</summary>
    public int SampleSequential()
    {
        int total = 0;
        for (int i = 0; i < _engine.Sizes.SampleCount; i++)
        {
            total += Sample(1, seed: 1 + i);
        }

        return total;
    }

    /// <summary>One call with <paramref name="numSamples"/> samples; returns the tokens sampled.</summary>
    public int Sample(int numSamples, long seed)
    {
        var parameters = new SamplingParams { MaxTokens = _engine.Sizes.SampleTokens, Temperature = 1, Seed = seed };
        var response = _sampler.Sample(_engine.Model, _engine.Adapter, _prompt, numSamples, parameters);
        NativeSetup.AfterStep();
        int tokens = response.Sequences.Sum(s => s.Tokens.Count);
        if (tokens != numSamples * _engine.Sizes.SampleTokens)
        {
            throw new InvalidOperationException($"expected {numSamples}×{_engine.Sizes.SampleTokens} sampled tokens, got {tokens}.");
        }

        return tokens;
    }
}
