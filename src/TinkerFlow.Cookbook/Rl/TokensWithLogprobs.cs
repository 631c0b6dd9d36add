using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Rl;

/// <summary>An action: sampled tokens with the sampler's logprob of each (the behaviour policy q).</summary>
/// <param name="Tokens">The sampled token ids.</param>
/// <param name="Logprobs">One sampler logprob per token.</param>
/// <param name="StopReason">Why sampling ended, when known.</param>
public sealed record TokensWithLogprobs(IReadOnlyList<int> Tokens, IReadOnlyList<double> Logprobs, StopReason? StopReason = null)
{
    /// <summary>Takes a sampled sequence's tokens, logprobs and stop reason.</summary>
    /// <param name="sequence">The sequence.</param>
    /// <returns>The action.</returns>
    /// <exception cref="ArgumentException">The sequence has no logprobs.</exception>
    public static TokensWithLogprobs FromSampledSequence(SampledSequence sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        var logprobs = sequence.Logprobs
            ?? throw new ArgumentException("The sampled sequence has no logprobs; RL needs the sampler's logprobs for the importance ratio.", nameof(sequence));
        return new TokensWithLogprobs(sequence.Tokens, logprobs, sequence.StopReason);
    }
}
