using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace TinkerFlow.Benchmarks.Suites;

/// <summary>
/// BenchmarkDotNet job for TorchSharp benchmarks: in-process (the out-of-process toolchain would copy ~500 MB of
/// libtorch natives per benchmark), monitoring strategy (each invocation takes 0.1-20 s, so no pilot stage), one
/// warm-up and five measured iterations.
/// </summary>
public sealed class TorchInProcessConfig : ManualConfig
{
    public TorchInProcessConfig()
    {
        AddJob(Job.Dry
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(5)
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithId("TorchInProcess"));
    }
}
