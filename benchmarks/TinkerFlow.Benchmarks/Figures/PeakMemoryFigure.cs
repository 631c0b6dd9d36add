using TinkerFlow.Benchmarks.Engine;
using TinkerFlow.Benchmarks.Quick;

namespace TinkerFlow.Benchmarks.Figures;

/// <summary>
/// <c>ratio peak_memory_gb</c>: the process's peak resident set size so far (VmHWM, 10⁹ bytes) — a figure, not a
/// target. Runs last, so it covers every figure before it.
/// </summary>
internal sealed class PeakMemoryFigure : IQuickFigure
{
    public string Name => "peak_memory_gb";

    public int Order => int.MaxValue;

    public Task<IReadOnlyList<(string Name, double Value)>> MeasureAsync(QuickContext context)
    {
        if (ProcessMemory.PeakResidentBytes() is not long peak)
        {
            context.Log("no /proc/self/status on this platform; no peak memory figure");
            return Task.FromResult<IReadOnlyList<(string, double)>>([]);
        }

        long current = ProcessMemory.ResidentBytes() ?? 0;
        context.Log($"VmHWM {peak / 1024 / 1024} MiB over the whole run (VmRSS now {current / 1024 / 1024} MiB); GB = 1e9 bytes");
        return Task.FromResult<IReadOnlyList<(string, double)>>([("peak_memory_gb", peak / 1e9)]);
    }
}
