using TinkerFlow.Benchmarks.Engine;
using TinkerFlow.Benchmarks.Quick;
using TinkerFlow.Local;
using TinkerFlow.Local.BuiltinModels;
using TinkerFlow.Types;

namespace TinkerFlow.Benchmarks.Figures;

/// <summary>
/// Continuous batching through the public client, in-process on the embedded engine with the built-in model
/// (<c>tinkerflow/tiny-qwen3</c>), as a new user would sample:
/// <list type="bullet">
/// <item><c>ratio concurrent_vs_batched</c> (target ≤ 1.3): 32 concurrent <c>SampleAsync</c> calls with num_samples=1
/// (32 different prompts of the same length) divided by one call with num_samples=32; same prompt length, same new
/// tokens, one LoRA sampler.</item>
/// <item><c>ratio multi_adapter_vs_single</c> (target ≤ 1.5): the same 32 concurrent requests spread over 8 samplers
/// with different LoRA adapters divided by all 32 on one sampler.</item>
/// </list>
/// Temperature 1, no stop condition, so every sample is exactly the new-token count long. Configurations alternate
/// within each run so load from other processes hits them alike; each side is the median over the runs.
/// </summary>
internal sealed class ContinuousBatchingFigure : IQuickFigure
{
    private const int Requests = 32;
    private const int Adapters = 8;

    public string Name => "continuous_batching";

    public int Order => 35;

    public async Task<IReadOnlyList<(string Name, double Value)>> MeasureAsync(QuickContext context)
    {
        int promptLength = context.Smoke ? 8 : 32;
        int newTokens = context.Smoke ? 8 : 64;
        int runs = context.Smoke ? 1 : 3;
        var home = Directory.CreateTempSubdirectory("tinkerflow-bench-batching-");
        try
        {
            await using var backend = new LocalBackend(new LocalBackendOptions { HomeDirectory = home.FullName });
            await using var service = new ServiceClient(backend);
            var samplers = new List<SamplingClient>();
            for (int i = 0; i < Adapters; i++)
            {
                var training = await service.CreateLoraTrainingClientAsync(BuiltinModelCatalog.TinyQwen3, rank: 16, seed: i + 1,
                    cancellationToken: context.CancellationToken);
                samplers.Add(await training.SaveWeightsAndGetSamplingClientAsync(cancellationToken: context.CancellationToken));
            }

            var tokenizer = await samplers[0].GetTokenizerAsync(context.CancellationToken);
            int vocab = tokenizer.VocabSize;
            var prompts = Enumerable.Range(0, Requests).Select(i => ModelInput.FromInts(RequestFactory.Prompt(promptLength, vocab, seed: 50 + i))).ToArray();
            var parameters = new SamplingParams { MaxTokens = newTokens, Temperature = 1 };

            async Task<double> Batched()
            {
                var started = System.Diagnostics.Stopwatch.StartNew();
                var result = await await samplers[0].SampleAsync(WaitUntil.Started, prompts[0], Requests, parameters with { Seed = 1 },
                    cancellationToken: context.CancellationToken);
                Check(result.Sequences.Sum(s => s.Tokens.Count), Requests * newTokens);
                return started.Elapsed.TotalSeconds;
            }

            var batcher = backend.BatcherFor(backend.Models.Get(BuiltinModelCatalog.TinyQwen3));
            string Counters() => $"steps {batcher.Steps}, rows/step {(double)batcher.RowSteps / Math.Max(1, batcher.Steps):0.0}, seconds in steps {batcher.StepSeconds:0.000}";

            async Task<double> Concurrent(int adapters)
            {
                var started = System.Diagnostics.Stopwatch.StartNew();
                var futures = await Task.WhenAll(Enumerable.Range(0, Requests).Select(i =>
                    samplers[i % adapters].SampleAsync(WaitUntil.Started, prompts[i], 1, parameters with { Seed = 100 + i },
                        cancellationToken: context.CancellationToken)));
                var results = await Task.WhenAll(futures.Select(f => f.AsTask()));
                Check(results.Sum(r => r.Sequences.Sum(s => s.Tokens.Count)), Requests * newTokens);
                return started.Elapsed.TotalSeconds;
            }

            await Batched();                                                                   // warm-up every path
            await Concurrent(1);
            await Concurrent(Adapters);

            var batched = new List<double>();
            var concurrent = new List<double>();
            var multi = new List<double>();
            var cpu = CpuShare.Start();
            for (int run = 0; run < runs; run++)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                batched.Add(await Batched());
                context.Log($"after batched: {Counters()}");
                concurrent.Add(await Concurrent(1));
                context.Log($"after concurrent: {Counters()}");
                multi.Add(await Concurrent(Adapters));
                context.Log($"after multi-adapter: {Counters()}");
            }

            string cpuUsed = cpu.Describe();
            double b = Stats.Median(batched), c = Stats.Median(concurrent), m = Stats.Median(multi);
            int tokens = Requests * newTokens;
            context.Log($"model: {BuiltinModelCatalog.TinyQwen3} through SamplingClient on the embedded engine; LoRA r16 samplers; prompt {promptLength}, "
                + $"{newTokens} new tokens, temperature 1; {Requests} requests");
            context.Log($"one num_samples={Requests} request: runs {string.Join(", ", batched.Select(Stats.Seconds))}, median {Stats.Seconds(b)} ({tokens / b:0} tokens/s)");
            context.Log($"{Requests} concurrent num_samples=1 requests, 1 adapter: runs {string.Join(", ", concurrent.Select(Stats.Seconds))}, median {Stats.Seconds(c)} ({tokens / c:0} tokens/s)");
            context.Log($"{Requests} concurrent num_samples=1 requests, {Adapters} adapters: runs {string.Join(", ", multi.Select(Stats.Seconds))}, median {Stats.Seconds(m)} ({tokens / m:0} tokens/s)");
            context.Log($"concurrent/batched {c / b:0.00} (target <= 1.3); {Adapters} adapters/1 adapter {m / c:0.00} (target <= 1.5); while measuring the {cpuUsed}");
            return [("concurrent_vs_batched", c / b), ("multi_adapter_vs_single", m / c)];
        }
        finally
        {
            try
            {
                home.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static void Check(int tokens, int expected)
    {
        if (tokens != expected)
        {
            throw new InvalidOperationException($"expected {expected} sampled tokens, got {tokens}.");
        }
    }
}
