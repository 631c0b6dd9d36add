using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TinkerFlow.Local.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>
/// The machine's practical read bandwidth: the faster of two reads of a float32 buffer much larger than the caches, each
/// the best of a few runs. One is libtorch's <c>sum</c>; the other a plain SIMD sum on libtorch's OpenMP team
/// (<see cref="OpenMpTeam"/>), which reads faster than <c>sum</c> on some machines (46 vs 85 GB/s measured here on
/// the same minute), so that a decode kernel streaming its weights is never measured against too low a bound.
/// </summary>
internal static unsafe class MemoryBandwidth
{
    /// <summary>Best bytes/s reading <paramref name="bytes"/> bytes (rounded to floats) over <paramref name="runs"/> timed runs after one warm-up.</summary>
    public static double MeasureRead(long bytes, int runs)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var data = torch.ones([bytes / sizeof(float)], ScalarType.Float32);
        double torchSeconds = Best(runs, () => data.sum().Dispose());
        double teamSeconds = double.MaxValue;
        if (OpenMpTeam.IsAvailable && Vector256.IsHardwareAccelerated)
        {
            var state = (SumState*)NativeMemory.AllocZeroed((nuint)sizeof(SumState));
            try
            {
                state->Data = TensorMemory.Floats(data);
                state->Count = data.NumberOfElements;
                int threads = torch.get_num_threads();
                var address = (nint)state;
                teamSeconds = Best(runs, () => OpenMpTeam.TryRun(&SumBody, (void*)address, threads));
            }
            finally
            {
                NativeMemory.Free(state);
            }
            GC.KeepAlive(data);
        }

        return data.NumberOfElements * (double)sizeof(float) / Math.Min(torchSeconds, teamSeconds);
    }

    private static double Best(int runs, Action read)
    {
        read();
        double best = double.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            best = Math.Min(best, Stats.Time(read));
        }
        return best;
    }

    private struct SumState
    {
        public float* Data;
        public long Count;
        public float Sink;
    }

    /// <summary>
    /// Thread t of n sums its contiguous share with four independent 256-bit accumulators (512-bit ones read at most 1–3%
    /// faster here, within the spread of the best of five runs).
    /// </summary>
    [UnmanagedCallersOnly]
    private static void SumBody(void* p)
    {
        var state = (SumState*)p;
        int thread = OpenMpTeam.ThreadNumber(), threads = OpenMpTeam.TeamSize();
        long width = Vector256<float>.Count * 4;
        long chunks = state->Count / width;
        Vector256<float> a = default, b = default, c = default, d = default;
        for (long i = chunks * thread / threads * width, end = chunks * (thread + 1) / threads * width; i < end; i += width)
        {
            float* q = state->Data + i;
            a += Vector256.Load(q);
            b += Vector256.Load(q + 8);
            c += Vector256.Load(q + 16);
            d += Vector256.Load(q + 24);
        }
        _ = Interlocked.Exchange(ref state->Sink, Vector256.Sum(a + b + c + d));   // a sink, so that the reads cannot be dropped
    }
}
