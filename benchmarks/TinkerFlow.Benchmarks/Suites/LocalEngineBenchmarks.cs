using BenchmarkDotNet.Attributes;
using TinkerFlow.Benchmarks.Engine;

namespace TinkerFlow.Benchmarks.Suites;

/// <summary>
/// The embedded engine at the quick-mode sizes (<see cref="BenchSizes.Full"/>): one LoRA training step, greedy decode
/// with and without the KV cache, and batched vs sequential sampling. Divide the step's token count (8×256) by its
/// time for tokens/s.
/// </summary>
[Config(typeof(TorchInProcessConfig))]
public class LocalEngineBenchmarks
{
    private BenchEngine _engine = null!;
    private TrainingWorkload _training = null!;
    private SamplingWorkload _sampling = null!;
    private int[] _prompt = [];
    private long[] _decoded = [];

    [GlobalSetup]
    public void Setup()
    {
        _engine = BenchEngine.Create(BenchSizes.Full);
        _training = new TrainingWorkload(_engine);
        _sampling = new SamplingWorkload(_engine);
        _prompt = RequestFactory.Prompt(BenchSizes.Full.DecodePrompt, BenchSizes.Full.Model.VocabSize, seed: 11);
        _decoded = DecodeWorkload.DecodeWithCache(_engine.Model, _prompt, BenchSizes.Full.DecodeNewTokens);
    }

    [GlobalCleanup]
    public void Cleanup() => _engine.Dispose();

    [Benchmark(Description = "forward_backward + optim_step, 8x256 tokens, LoRA r16")]
    public double TrainingStep()
    {
        var (forwardBackward, optim) = _training.Step();
        return forwardBackward + optim;
    }

    [Benchmark(Description = "decode 256 tokens, KV cache")]
    public int DecodeWithKvCache() => DecodeWorkload.DecodeWithCache(_engine.Model, _prompt, BenchSizes.Full.DecodeNewTokens).Length;

    [Benchmark(Description = "decode 256 tokens, full re-forward per token")]
    public double DecodeWithoutKvCache() =>
        DecodeWorkload.DecodeWithoutCacheSeconds(_engine.Model, _decoded, _prompt.Length, BenchSizes.Full.DecodeNewTokens, stride: 1, out _);

    [Benchmark(Description = "sample 16x64 tokens, one num_samples=16 call")]
    public int SampleBatched() => _sampling.SampleBatched();

    [Benchmark(Description = "sample 16x64 tokens, 16 num_samples=1 calls")]
    public int SampleSequential() => _sampling.SampleSequential();
}
