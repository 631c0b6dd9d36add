using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TinkerFlow.Local.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Lora;

/// <summary>
/// <c>x Wᵀ + b</c> for 1 to <see cref="MaxRows"/> rows of x (a decode step), computed by a SIMD kernel on libtorch's
/// OpenMP team (<see cref="OpenMpTeam"/>): each thread takes a share of W's rows and streams them once, 4 at a time,
/// against up to 4 rows of x held in registers. libtorch has no such product: one row is a matrix-vector product that
/// MKL runs on one thread, and a few rows are a GEMM that packs all of W first. Measured over the benchmark model's
/// projections (2 threads, AVX-512): 1 row 1.7 → 0.8–1.0 ms, 16 rows 5.5 → 2.8 ms; Qwen3-0.6B's weights at one row
/// 62–70 → 35–55 ms (engine-notes, "Products with few rows").
/// </summary>
/// <remarks>
/// Used only where no gradient is needed (sampling, forward-only passes) and for float32 CPU tensors with a contiguous
/// weight, on x64 with AVX2 and FMA (AVX-512 where the JIT accelerates it); otherwise <see cref="TryProject"/> answers
/// false and the caller uses libtorch. Sums are taken in a different order from MKL's, so results differ from
/// <c>linear</c> by float32 rounding (about 1e-6 relative).
/// </remarks>
internal static unsafe class FewRowKernel
{
    /// <summary>Most rows of x the kernel takes; above this, MKL's GEMM is as fast.</summary>
    public const long MaxRows = 64;

    /// <summary>Below this many multiply-adds a product runs on the calling thread alone (waking the team costs more).</summary>
    private const long SerialWork = 64 * 1024;

    /// <summary>True when this CPU and process can run the kernel.</summary>
    public static bool IsSupported { get; } = (Vector512.IsHardwareAccelerated || (Avx2.IsSupported && Fma.IsSupported));

    /// <summary>
    /// <paramref name="rows"/> [M, in] times <paramref name="weight"/>ᵀ [in, out], plus <paramref name="bias"/>, as a
    /// new contiguous [M, out] tensor; false (and no result) when the kernel does not apply.
    /// </summary>
    public static bool TryProject(Tensor rows, Tensor weight, Tensor? bias, out Tensor? result)
    {
        result = null;
        long m = rows.dim() == 2 ? rows.shape[0] : 0;
        if (!IsSupported || m < 1 || m > MaxRows || !Applies(rows, weight, bias) || !OpenMpTeam.IsAvailable)
        {
            return false;
        }

        long n = weight.shape[0], k = weight.shape[1];
        if (rows.shape[1] != k || n > int.MaxValue || k > int.MaxValue || (bias is not null && (bias.dim() != 1 || bias.shape[0] != n)))
        {
            return false;
        }

        using var x = rows.is_contiguous() ? rows.alias() : rows.contiguous();
        var y = torch.empty(m, n, ScalarType.Float32);
        var args = new Args
        {
            W = TensorMemory.Floats(weight),
            X = TensorMemory.Floats(x),
            Y = TensorMemory.Floats(y),
            B = bias is null ? null : TensorMemory.Floats(bias),
            M = (int)m,
            N = (int)n,
            K = (int)k,
        };
        Launch(&args);
        GC.KeepAlive(weight);
        GC.KeepAlive(bias);
        result = y;
        return true;
    }

    /// <summary>
    /// Adds a LoRA update in place: <paramref name="output"/> += <paramref name="scale"/> · (x Aᵀ) Bᵀ, for 1 to
    /// <see cref="MaxRows"/> rows and no gradient to record; false, having changed nothing, when the kernel does not apply.
    /// One product into an [M, r] buffer and one accumulating product replace libtorch's two products, scale and add.
    /// </summary>
    /// <param name="x">[..., in] float32.</param>
    /// <param name="a">A: [r, in] float32, contiguous.</param>
    /// <param name="b">B: [out, r] float32, contiguous.</param>
    /// <param name="scale">The adapter's alpha / r.</param>
    /// <param name="output">[..., out] float32, contiguous: the base projection of x, owned by the caller.</param>
    public static bool TryAddLowRank(Tensor x, Tensor a, Tensor b, double scale, Tensor output)
    {
        long inFeatures = x.shape[^1];
        long m = inFeatures == 0 ? 0 : x.numel() / inFeatures;
        // Everything about B and the output is checked here, before anything is written; TryProject checks x and A.
        if (m < 1 || a.dim() != 2 || b.dim() != 2 || b.shape[1] != a.shape[0] || output.numel() != m * b.shape[0]
            || !TensorMemory.IsReadable(output) || !Applies(x, b, null) || !TensorMemory.RecordsNoGradient(x, output))
        {
            return false;
        }

        using var scope = torch.NewDisposeScope();
        if (!TryProject(x.reshape(m, inFeatures), a, null, out var down))                  // (M, r)
        {
            return false;
        }

        var args = new Args
        {
            W = TensorMemory.Floats(b),
            X = TensorMemory.Floats(down!),
            Y = TensorMemory.Floats(output),
            M = (int)m,
            N = (int)b.shape[0],
            K = (int)b.shape[1],
            Accumulate = true,
            Scale = (float)scale,
        };
        Launch(&args);
        GC.KeepAlive(b);
        GC.KeepAlive(down);
        return true;
    }

    /// <summary>
    /// The kernel on raw float32 rows, for callers that hold their operands outside tensors (<see cref="Model.DecodeStep"/>):
    /// y = x Wᵀ + bias, or with <paramref name="accumulate"/> y += <paramref name="scale"/> · x Wᵀ + bias. The caller has
    /// checked <see cref="IsSupported"/>, the shapes (x [m, k], W [n, k], bias [n] or null, y [m, n], all contiguous) and
    /// keeps the memory alive until this returns.
    /// </summary>
    public static void Multiply(float* x, float* weight, float* bias, float* y, int m, int n, int k, bool accumulate = false, float scale = 1f)
    {
        var args = new Args
        {
            W = weight,
            X = x,
            Y = y,
            B = accumulate ? null : bias,
            M = m,
            N = n,
            K = k,
            Accumulate = accumulate,
            Scale = scale,
        };
        Launch(&args);
        if (accumulate && bias is not null)
        {
            for (int row = 0; row < m; row++)
            {
                float* target = y + ((long)row * n);
                for (int j = 0; j < n; j++)
                {
                    target[j] += bias[j];
                }
            }
        }
    }

    /// <summary>Runs the product on the calling thread when it is small, else on libtorch's OpenMP team.</summary>
    private static void Launch(Args* args)
    {
        long work = (long)args->M * args->N * args->K;
        int threads = work < SerialWork ? 1 : Math.Max(1, torch.get_num_threads());
        if (threads == 1 || !OpenMpTeam.TryRun(&Body, args, threads))
        {
            Run(args, 0, 1);
        }
    }

    private static bool Applies(Tensor rows, Tensor weight, Tensor? bias) =>
        weight.dim() == 2 && TensorMemory.IsReadable(weight) && TensorMemory.IsFloat32Cpu(rows)
        && (bias is null || TensorMemory.IsReadable(bias))
        && TensorMemory.RecordsNoGradient(rows, weight, bias);

    private struct Args
    {
        public float* W, X, Y, B;
        public int M, N, K;

        /// <summary>When set, y += Scale · sum instead of y = sum (+ bias).</summary>
        public bool Accumulate;
        public float Scale;
    }

    [UnmanagedCallersOnly]
    private static void Body(void* state) => Run((Args*)state, OpenMpTeam.ThreadNumber(), OpenMpTeam.TeamSize());

    /// <summary>Thread <paramref name="thread"/> of <paramref name="threads"/>: its share of W's rows.</summary>
    private static void Run(Args* a, int thread, int threads)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Run<V512>(a, thread, threads);
        }
        else
        {
            Run<V256>(a, thread, threads);
        }
    }

    private static void Run<TV>(Args* a, int thread, int threads) where TV : struct, IVec<TV>
    {
        // Equal shares of 4-row blocks. (Shares claimed from a shared counter, to let a faster thread take more, read
        // 3–5% slower on a quiet host and no faster on a busy one.)
        int blocks = (a->N + 3) / 4;
        int perThread = (blocks + threads - 1) / threads;
        int first = Math.Min(a->N, thread * perThread * 4);
        Rows<TV>(a, first, Math.Min(a->N, first + (perThread * 4)));
    }

    /// <summary>W rows <paramref name="first"/> .. <paramref name="end"/> − 1 against every row of x, 4 W rows at a time.</summary>
    private static void Rows<TV>(Args* a, int first, int end) where TV : struct, IVec<TV>
    {
        if (a->M == 1)
        {
            SingleRow<TV>(a, first, end);
            return;
        }

        for (int r = first; r < end; r += 4)
        {
            int nr = Math.Min(4, end - r);
            int m = 0;
            for (; m + 4 <= a->M; m += 4)
            {
                Block<TV, Rows4>(a, r, nr, m);
            }
            for (; m + 2 <= a->M; m += 2)
            {
                Block<TV, Rows2>(a, r, nr, m);
            }
            for (; m < a->M; m++)
            {
                Block<TV, Rows1>(a, r, nr, m);
            }
        }
    }

    /// <summary>
    /// One row of x against W rows <paramref name="first"/> .. <paramref name="end"/> − 1, each W row read to its end
    /// before the next: one sequential stream, which reads faster than <see cref="Block{TV, TR}"/>'s four interleaved
    /// ones. Each sum is taken in <see cref="Block{TV, TR}"/>'s order (one vector accumulator, its lanes, then the tail), so
    /// a row's result is the same alone as among other rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SingleRow<TV>(Args* a, int first, int end) where TV : struct, IVec<TV>
    {
        int k = a->K;
        int vectorEnd = k - (k % TV.Count);
        float* x = a->X;
        for (int r = first; r < end; r++)
        {
            float* w = a->W + ((long)r * k);
            TV sum = default;
            for (int i = 0; i < vectorEnd; i += TV.Count)
            {
                sum = TV.Fma(TV.Load(w + i), TV.Load(x + i), sum);
            }
            float total = TV.Sum(sum);
            for (int i = vectorEnd; i < k; i++)
            {
                total += w[i] * x[i];
            }
            if (a->Accumulate)
            {
                a->Y[r] += a->Scale * total;
            }
            else
            {
                a->Y[r] = a->B is null ? total : total + a->B[r];
            }
        }
    }

    /// <summary>
    /// y[m..m+R, r..r+nr] for R = <typeparamref name="TR"/>'s rows of x and nr ≤ 4 rows of W: 4R accumulators, each W
    /// vector loaded once and used R times.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TV, TR>(Args* a, int r, int nr, int m) where TV : struct, IVec<TV> where TR : struct, IRowCount
    {
        int k = a->K, n = a->N;
        float* w0 = a->W + ((long)r * k);
        float* w1 = nr > 1 ? w0 + k : w0, w2 = nr > 2 ? w0 + (2L * k) : w0, w3 = nr > 3 ? w0 + (3L * k) : w0;
        float* x0 = a->X + ((long)m * k), x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        TV s00 = default, s01 = default, s02 = default, s03 = default;
        TV s10 = default, s11 = default, s12 = default, s13 = default;
        TV s20 = default, s21 = default, s22 = default, s23 = default;
        TV s30 = default, s31 = default, s32 = default, s33 = default;
        int vectorEnd = k - (k % TV.Count);
        for (int i = 0; i < vectorEnd; i += TV.Count)
        {
            var a0 = TV.Load(w0 + i);
            var a1 = TV.Load(w1 + i);
            var a2 = TV.Load(w2 + i);
            var a3 = TV.Load(w3 + i);
            var b = TV.Load(x0 + i);
            s00 = TV.Fma(a0, b, s00);
            s01 = TV.Fma(a1, b, s01);
            s02 = TV.Fma(a2, b, s02);
            s03 = TV.Fma(a3, b, s03);
            if (TR.Count > 1)
            {
                b = TV.Load(x1 + i);
                s10 = TV.Fma(a0, b, s10);
                s11 = TV.Fma(a1, b, s11);
                s12 = TV.Fma(a2, b, s12);
                s13 = TV.Fma(a3, b, s13);
            }
            if (TR.Count > 2)
            {
                b = TV.Load(x2 + i);
                s20 = TV.Fma(a0, b, s20);
                s21 = TV.Fma(a1, b, s21);
                s22 = TV.Fma(a2, b, s22);
                s23 = TV.Fma(a3, b, s23);
                b = TV.Load(x3 + i);
                s30 = TV.Fma(a0, b, s30);
                s31 = TV.Fma(a1, b, s31);
                s32 = TV.Fma(a2, b, s32);
                s33 = TV.Fma(a3, b, s33);
            }
        }

        // Every sum is reduced before the first call: an accumulator live across a call would be spilled to the stack
        // inside the loop above (all vector registers are caller-saved), which measured 2.6x slower.
        float t00 = TV.Sum(s00), t01 = TV.Sum(s01), t02 = TV.Sum(s02), t03 = TV.Sum(s03);
        float t10 = 0, t11 = 0, t12 = 0, t13 = 0, t20 = 0, t21 = 0, t22 = 0, t23 = 0, t30 = 0, t31 = 0, t32 = 0, t33 = 0;
        if (TR.Count > 1)
        {
            t10 = TV.Sum(s10);
            t11 = TV.Sum(s11);
            t12 = TV.Sum(s12);
            t13 = TV.Sum(s13);
        }
        if (TR.Count > 2)
        {
            t20 = TV.Sum(s20);
            t21 = TV.Sum(s21);
            t22 = TV.Sum(s22);
            t23 = TV.Sum(s23);
            t30 = TV.Sum(s30);
            t31 = TV.Sum(s31);
            t32 = TV.Sum(s32);
            t33 = TV.Sum(s33);
        }

        float* y = a->Y + ((long)m * n) + r;
        if (nr == 4 && vectorEnd == k)
        {
            // The common case, with no call: a call per row measured 1 ms of a 16-row decode step's 4.
            if (a->Accumulate)
            {
                float c = a->Scale;
                Add(y, c, t00, t01, t02, t03);
                if (TR.Count > 1)
                {
                    Add(y + n, c, t10, t11, t12, t13);
                }
                if (TR.Count > 2)
                {
                    Add(y + (2L * n), c, t20, t21, t22, t23);
                    Add(y + (3L * n), c, t30, t31, t32, t33);
                }
                return;
            }

            float* bias = a->B is null ? null : a->B + r;
            Put(y, bias, t00, t01, t02, t03);
            if (TR.Count > 1)
            {
                Put(y + n, bias, t10, t11, t12, t13);
            }
            if (TR.Count > 2)
            {
                Put(y + (2L * n), bias, t20, t21, t22, t23);
                Put(y + (3L * n), bias, t30, t31, t32, t33);
            }
            return;
        }

        Store(a, y, x0, r, nr, vectorEnd, t00, t01, t02, t03);
        if (TR.Count > 1)
        {
            Store(a, y + n, x1, r, nr, vectorEnd, t10, t11, t12, t13);
        }
        if (TR.Count > 2)
        {
            Store(a, y + (2L * n), x2, r, nr, vectorEnd, t20, t21, t22, t23);
            Store(a, y + (3L * n), x3, r, nr, vectorEnd, t30, t31, t32, t33);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(float* y, float scale, float s0, float s1, float s2, float s3)
    {
        y[0] += scale * s0;
        y[1] += scale * s1;
        y[2] += scale * s2;
        y[3] += scale * s3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* y, float* bias, float s0, float s1, float s2, float s3)
    {
        if (bias is null)
        {
            y[0] = s0;
            y[1] = s1;
            y[2] = s2;
            y[3] = s3;
        }
        else
        {
            y[0] = s0 + bias[0];
            y[1] = s1 + bias[1];
            y[2] = s2 + bias[2];
            y[3] = s3 + bias[3];
        }
    }

    /// <summary>Writes one row of x's sums against W rows r..r+nr, adding the elements past the last vector and the bias.</summary>
    private static void Store(Args* a, float* y, float* x, int r, int nr, int vectorEnd, float s0, float s1, float s2, float s3)
    {
        Span<float> sums = [s0, s1, s2, s3];
        for (int j = 0; j < nr; j++)
        {
            float* w = a->W + ((long)(r + j) * a->K);
            float sum = sums[j];
            for (int i = vectorEnd; i < a->K; i++)
            {
                sum += w[i] * x[i];
            }
            if (a->Accumulate)
            {
                y[j] += a->Scale * sum;
            }
            else
            {
                y[j] = a->B is null ? sum : sum + a->B[r + j];
            }
        }
    }

    private interface IRowCount
    {
        static abstract int Count { get; }
    }

    private struct Rows1 : IRowCount
    {
        public static int Count => 1;
    }

    private struct Rows2 : IRowCount
    {
        public static int Count => 2;
    }

    private struct Rows4 : IRowCount
    {
        public static int Count => 4;
    }

    /// <summary>The few vector operations the kernel needs, over 512- or 256-bit registers (the JIT specialises each).</summary>
    private interface IVec<T>
        where T : struct
    {
        static abstract int Count { get; }

        static abstract T Load(float* p);

        static abstract T Fma(T a, T b, T c);

        static abstract float Sum(T a);
    }

    private struct V512 : IVec<V512>
    {
        private Vector512<float> _v;

        public static int Count => Vector512<float>.Count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static V512 Load(float* p) => new() { _v = Vector512.Load(p) };

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static V512 Fma(V512 a, V512 b, V512 c) => new() { _v = Vector512.FusedMultiplyAdd(a._v, b._v, c._v) };

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum(V512 a) => Vector512.Sum(a._v);
    }

    private struct V256 : IVec<V256>
    {
        private Vector256<float> _v;

        public static int Count => Vector256<float>.Count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static V256 Load(float* p) => new() { _v = Vector256.Load(p) };

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static V256 Fma(V256 a, V256 b, V256 c) => new() { _v = Vector256.FusedMultiplyAdd(a._v, b._v, c._v) };

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sum(V256 a) => Vector256.Sum(a._v);
    }
}
