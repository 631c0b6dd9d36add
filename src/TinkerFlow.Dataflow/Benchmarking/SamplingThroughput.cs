using System.Diagnostics;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>Sampling throughput on any backend: <c>requests</c> sample calls with at most <c>concurrency</c> in flight.</summary>
public static class SamplingThroughput
{
    /// <summary>Runs the requests and returns the sampled tokens per second of wall time.</summary>
    /// <param name="sampler">The sampling client.</param>
    /// <param name="prompt">The prompt of every request.</param>
    /// <param name="samplingParams">The parameters of every request (give <see cref="SamplingParams.MaxTokens"/>).</param>
    /// <param name="requests">How many sample calls (num_samples 1 each).</param>
    /// <param name="concurrency">How many may be in flight at once (1 = one after another).</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>Sampled tokens per second.</returns>
    public static async Task<double> TokensPerSecondAsync(SamplingClient sampler, ModelInput prompt, SamplingParams samplingParams, int requests, int concurrency, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(samplingParams);
        ArgumentOutOfRangeException.ThrowIfLessThan(requests, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        using var slots = new SemaphoreSlim(concurrency, concurrency);
        long tokens = 0;
        var start = Stopwatch.GetTimestamp();
        var calls = Enumerable.Range(0, requests).Select(async i =>
        {
            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var p = samplingParams.Seed is { } seed ? samplingParams with { Seed = seed + i } : samplingParams;
                var future = await sampler.SampleAsync(WaitUntil.Completed, prompt, 1, p, cancellationToken: cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref tokens, future.Value.Sequences.Sum(s => (long)s.Tokens.Count));
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        await Task.WhenAll(calls).ConfigureAwait(false);
        return tokens / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
