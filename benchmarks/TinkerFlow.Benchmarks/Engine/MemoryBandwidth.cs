using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>The machine's practical read bandwidth: the sum of a float32 tensor much larger than the caches, best of a few runs.</summary>
internal static class MemoryBandwidth
{
    /// <summary>Best bytes/s reading <paramref name="bytes"/> bytes (rounded to floats) over <paramref name="runs"/> timed runs after one warm-up.</summary>
    public static double MeasureRead(long bytes, int runs)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var data = torch.ones([bytes / sizeof(float)], ScalarType.Float32);
        data.sum().Dispose();
        double best = double.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            best = Math.Min(best, Stats.Time(() => data.sum().Dispose()));
        }

        return data.NumberOfElements * (double)sizeof(float) / best;
    }
}
