using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>The machine's practical float32 GEMM peak: torch.mm of two n×n matrices, best of a few runs.</summary>
internal static class GemmPeak
{
    /// <summary>Best achieved FLOP/s (2·n³ per product) over <paramref name="runs"/> timed runs after one warm-up.</summary>
    public static double Measure(int n, int runs, out double bestSeconds)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var generator = new torch.Generator(1234, torch.CPU);
        var a = torch.randn([n, n], ScalarType.Float32, generator: generator);
        var b = torch.randn([n, n], ScalarType.Float32, generator: generator);
        torch.mm(a, b).Dispose();                                                    // warm-up (thread pool, page faults)
        bestSeconds = double.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            double seconds = Stats.Time(() => torch.mm(a, b).Dispose());
            bestSeconds = Math.Min(bestSeconds, seconds);
        }

        return 2.0 * n * n * (double)n / bestSeconds;
    }

    /// <summary>Best achieved FLOP/s of an [m, k]·[k, n] float32 product (2·m·k·n per product), after one warm-up.</summary>
    public static double MeasureShape(int m, int k, int n, int runs)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var generator = new torch.Generator(4321, torch.CPU);
        var a = torch.randn([m, k], ScalarType.Float32, generator: generator);
        var b = torch.randn([k, n], ScalarType.Float32, generator: generator);
        torch.mm(a, b).Dispose();
        double best = double.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            best = Math.Min(best, Stats.Time(() => torch.mm(a, b).Dispose()));
        }

        return 2.0 * m * k * (double)n / best;
    }
}
