using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace TinkerFlow.Benchmarks.Suites;

/// <summary>BenchmarkDotNet job for the managed (JSON) benchmarks: ShortRun, in-process, with allocation counts.</summary>
public sealed class JsonInProcessConfig : ManualConfig
{
    public JsonInProcessConfig()
    {
        AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("ShortRunInProcess"));
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}
