using System.Diagnostics;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>
/// How many cores this process actually got over a measured section (process CPU time / wall time): on a shared
/// machine a figure measured while the process got 0.7 of its 2 threads' cores says more about the neighbours than
/// about the engine.
/// </summary>
internal sealed class CpuShare
{
    private readonly TimeSpan _cpuStart;
    private readonly long _wallStart;

    private CpuShare(TimeSpan cpuStart, long wallStart)
    {
        _cpuStart = cpuStart;
        _wallStart = wallStart;
    }

    /// <summary>Starts measuring now.</summary>
    public static CpuShare Start() => new(Process.GetCurrentProcess().TotalProcessorTime, Stopwatch.GetTimestamp());

    /// <summary>Average cores used since <see cref="Start"/>.</summary>
    public double CoresUsed()
    {
        double wall = Stopwatch.GetElapsedTime(_wallStart).TotalSeconds;
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - _cpuStart).TotalSeconds;
        return wall > 0 ? cpu / wall : 0;
    }

    /// <summary>A context phrase: "process used 1.85 cores (torch threads 2, load average 1.9)".</summary>
    public string Describe() =>
        FormattableString.Invariant($"process used {CoresUsed():0.00} cores (torch threads {TorchSharp.torch.get_num_threads()}, load average {LoadAverage.OneMinute()})");
}
