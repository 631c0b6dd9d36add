using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Lora;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// A decode step (one new token in each of 1 to <see cref="MaxRows"/> rows, nothing recorded for autograd) through
/// every decoder layer in managed code, on the hidden states in place: the projections on <see cref="FewRowKernel"/>,
/// the norms, RoPE, the cache write, attention, SwiGLU and the residual adds as plain loops over a scratch buffer.
/// </summary>
/// <remarks>
/// <para>Why: at one token a layer's arithmetic is a few microseconds beyond its weight reads, while the same layer
/// through libtorch is about 40 calls (views, small ops, allocations, dispose-scope bookkeeping), each costing more than
/// the work it does, run one after the other on the calling thread while the OpenMP team spins. On Qwen3-0.6B that was
/// about 10 ms of a 46 ms token (engine-notes, "A decode step in one managed pass").</para>
/// <para>It computes what <see cref="DecoderLayer.forward"/> computes, in another order of float32 sums (differences of
/// about 1e-6 relative). Every row is computed alone (its own dot products, its own attention), in the same order
/// whatever else shares the step, so a row's numbers do not depend on the batch. Rows may use different adapters (a
/// <see cref="LoraRouting"/>): each adapter's rows form a group whose update is added to those rows only. Where anything
/// does not fit (autograd, another dtype, a view, a packed prefill, more rows) <see cref="TryRun"/> declines before
/// touching anything and the caller runs the layers through libtorch.</para>
/// </remarks>
internal static unsafe class DecodeStep
{
    /// <summary>Most rows a step takes: <see cref="FewRowKernel.MaxRows"/>, beyond which the products go back to MKL.</summary>
    public const long MaxRows = FewRowKernel.MaxRows;

    /// <summary>Below this many multiply-adds, attention runs on the calling thread alone (waking the team costs more).</summary>
    private const long SerialAttentionWork = 64 * 1024;

    /// <summary>
    /// Runs every layer of a decode step on <paramref name="hidden"/> in place and appends the new keys and values to the
    /// context's cache; false, having changed nothing, when the step does not fit (see the remarks).
    /// </summary>
    /// <param name="layers">The decoder layers, in order.</param>
    /// <param name="config">The model's configuration.</param>
    /// <param name="hidden">[B, 1, C] float32, contiguous: the new tokens' embeddings, replaced by the last layer's output.</param>
    /// <param name="context">The step's angles, mask, cache and adapter, as the layers would get them.</param>
    public static bool TryRun(IList<DecoderLayer> layers, TransformerConfig config, Tensor hidden, AttentionContext context)
    {
        bool recording = torch.is_grad_enabled();
        if (!FewRowKernel.IsSupported || !Vector256.IsHardwareAccelerated || (recording && hidden.requires_grad)
            || context.Cache is not { } cache || context.Segments is not null || hidden.dim() != 3 || hidden.shape[1] != 1
            || hidden.shape[2] != config.HiddenSize || !TensorMemory.IsReadable(hidden))
        {
            return false;
        }

        long rows = hidden.shape[0];
        if (rows < 1 || rows > MaxRows)
        {
            return false;
        }
        // Which adapter each row uses: one for all rows, or the routing's per-row choice (rows of one adapter form a group).
        LoraAdapter?[] rowAdapters;
        if (context.Routing is { } routing)
        {
            if (routing.RowCount != rows)
            {
                return false;
            }
            rowAdapters = [.. routing.RowAdapters];
        }
        else
        {
            rowAdapters = [.. Enumerable.Repeat(context.Adapter, (int)rows)];
        }
        var adapters = rowAdapters.OfType<LoraAdapter>().Distinct(ReferenceEqualityComparer.Instance).Cast<LoraAdapter>().ToArray();

        int heads = config.NumAttentionHeads, kvHeads = config.NumKeyValueHeads, dim = config.HeadDim;
        if (heads % kvHeads != 0 || dim % 2 != 0
            || cache.InPlaceDecodeSpan(rows, kvHeads, dim) is not { } span
            || !IsAngleRows(context.Cos, rows, dim) || !IsAngleRows(context.Sin, rows, dim)
            || (context.Mask is { } mask && !IsMask(mask, rows, span)))
        {
            return false;
        }

        var plans = new LayerPlan[layers.Count];
        var lowRank = new LowRankPart[layers.Count * ProjectionsPerLayer * adapters.Length];
        int maxRank = 0;
        for (int l = 0; l < plans.Length; l++)
        {
            if (!TryPlan(layers[l], adapters, config, recording, out plans[l], lowRank, l * ProjectionsPerLayer * adapters.Length, ref maxRank))
            {
                return false;
            }
        }

        var shape = new Shape
        {
            Rows = (int)rows,
            Hidden = config.HiddenSize,
            Heads = heads,
            KvHeads = kvHeads,
            Dim = dim,
            Intermediate = config.IntermediateSize,
            Span = (int)span,
            Threads = Math.Max(1, torch.get_num_threads()),
        };
        var step = new Step
        {
            Hidden = TensorMemory.Floats(hidden),
            Cos = TensorMemory.Floats(context.Cos),
            Sin = TensorMemory.Floats(context.Sin),
            AngleRows = (int)context.Cos.shape[0],
            Mask = context.Mask is null ? null : (byte*)TensorMemory.Data(context.Mask),
        };
        step.Allocate(shape, maxRank);
        var groups = new AdapterGroup[adapters.Length];
        var groupRows = new int[rows];
        int next = 0;
        for (int g = 0; g < adapters.Length; g++)
        {
            int start = next;
            for (int r = 0; r < rows; r++)
            {
                if (ReferenceEquals(rowAdapters[r], adapters[g]))
                {
                    groupRows[next++] = r;
                }
            }
            groups[g] = new AdapterGroup { Start = start, Count = next - start };
        }

        fixed (LowRankPart* parts = lowRank)
        fixed (AdapterGroup* groupPointer = groups)
        fixed (int* rowPointer = groupRows)
        {
            step.Parts = parts;
            step.Groups = groupPointer;
            step.GroupCount = groups.Length;
            step.GroupRows = rowPointer;
            try
            {
                for (int l = 0; l < plans.Length; l++)
                {
                    RunLayer(ref plans[l], ref step, in shape, cache, l);
                }
            }
            finally
            {
                step.Free();
            }
        }

        GC.KeepAlive(layers);
        GC.KeepAlive(hidden);
        GC.KeepAlive(context);
        GC.KeepAlive(adapters);
        return true;
    }

    private static void RunLayer(ref LayerPlan plan, ref Step step, in Shape shape, IAttentionCache cache, int layer)
    {
        int rows = shape.Rows, hiddenSize = shape.Hidden, dim = shape.Dim, half = dim / 2;
        int queryWidth = shape.Heads * dim, kvWidth = shape.KvHeads * dim;
        float* h = step.Hidden;

        // Attention: h += o_proj(attend(rope(norm(q)), rope(norm(k)), v)), q/k/v = proj(norm(h)).
        for (int r = 0; r < rows; r++)
        {
            RmsNorm.NormalizeRow(h + ((long)r * hiddenSize), step.Normed + ((long)r * hiddenSize), plan.InputNorm, hiddenSize, plan.Eps);
        }
        Project(in plan.Q, step.Normed, step.Queries, rows, accumulate: false, ref step);
        Project(in plan.K, step.Normed, step.Keys, rows, accumulate: false, ref step);
        Project(in plan.V, step.Normed, step.Values, rows, accumulate: false, ref step);
        for (int r = 0; r < rows; r++)
        {
            long angle = (step.AngleRows == 1 ? 0 : r) * (long)dim;
            float* cos = step.Cos + angle, sin = step.Sin + angle;
            for (int head = 0; head < shape.Heads; head++)
            {
                float* q = step.Queries + ((long)r * queryWidth) + ((long)head * dim);
                if (plan.QueryNorm is not null)
                {
                    RmsNorm.NormalizeRow(q, q, plan.QueryNorm, dim, plan.Eps);
                }
                RotaryEmbedding.RotateRow(q, q, cos, sin, half);
            }
            for (int head = 0; head < shape.KvHeads; head++)
            {
                float* k = step.Keys + ((long)r * kvWidth) + ((long)head * dim);
                if (plan.KeyNorm is not null)
                {
                    RmsNorm.NormalizeRow(k, k, plan.KeyNorm, dim, plan.Eps);
                }
                RotaryEmbedding.RotateRow(k, k, cos, sin, half);
            }
        }

        var slots = cache.AppendInPlace(layer, shape.KvHeads, dim);
        long capacity = slots.Keys.shape[2];
        var attention = new AttentionArgs
        {
            Queries = step.Queries,
            Output = step.Attended,
            Keys = TensorMemory.Floats(slots.Keys),
            Values = TensorMemory.Floats(slots.Values),
            Scores = step.Scores,
            Mask = step.Mask,
            HeadStride = capacity * dim,
            RowStride = shape.KvHeads * capacity * dim,
            Rows = rows,
            Heads = shape.Heads,
            KvHeads = shape.KvHeads,
            Dim = dim,
            Span = shape.Span,
            Scale = 1f / MathF.Sqrt(dim),
        };
        for (int r = 0; r < rows; r++)
        {
            long column = slots.ColumnOf(r);
            for (int head = 0; head < shape.KvHeads; head++)
            {
                long target = (r * attention.RowStride) + (head * attention.HeadStride) + (column * dim);
                long source = ((long)r * kvWidth) + ((long)head * dim);
                new ReadOnlySpan<float>(step.Keys + source, dim).CopyTo(new Span<float>(attention.Keys + target, dim));
                new ReadOnlySpan<float>(step.Values + source, dim).CopyTo(new Span<float>(attention.Values + target, dim));
            }
        }

        long work = (long)rows * shape.Heads * shape.Span * dim;
        if (work < SerialAttentionWork || shape.Threads == 1 || !OpenMpTeam.TryRun(&AttendBody, &attention, shape.Threads))
        {
            Attend(&attention, 0, 1);
        }
        GC.KeepAlive(slots.Keys);
        GC.KeepAlive(slots.Values);
        Project(in plan.O, step.Attended, h, rows, accumulate: true, ref step);

        // MLP: h += down_proj(silu(gate_proj(norm(h))) · up_proj(norm(h))).
        for (int r = 0; r < rows; r++)
        {
            RmsNorm.NormalizeRow(h + ((long)r * hiddenSize), step.Normed + ((long)r * hiddenSize), plan.PostNorm, hiddenSize, plan.Eps);
        }
        Project(in plan.Gate, step.Normed, step.Gate, rows, accumulate: false, ref step);
        Project(in plan.Up, step.Normed, step.Up, rows, accumulate: false, ref step);
        SiluTimes(step.Gate, step.Up, (long)rows * shape.Intermediate);
        Project(in plan.Down, step.Gate, h, rows, accumulate: true, ref step);
    }

    /// <summary>
    /// y = x Wᵀ + b + s·(x Aᵀ) Bᵀ, or with <paramref name="accumulate"/> y += the same (the residual add), each row with
    /// its own adapter's A, B and s: the base product for all rows, then each adapter group's update. A group of every row
    /// adds its update in place; a group of some rows computes it for its gathered rows and adds it to theirs, with the
    /// same products and the same y += s·sum, so a row's numbers do not depend on the rows beside it.
    /// </summary>
    private static void Project(in Projection p, float* x, float* y, int rows, bool accumulate, ref Step step)
    {
        FewRowKernel.Multiply(x, p.Weight, p.Bias, y, rows, p.Out, p.In, accumulate);
        for (int g = 0; g < step.GroupCount; g++)
        {
            var part = step.Parts[p.FirstPart + g];
            if (part.A is null)
            {
                continue;
            }
            var group = step.Groups[g];
            if (group.Count == rows)
            {
                FewRowKernel.Multiply(x, part.A, null, step.LowRank, rows, part.Rank, p.In);                    // (M, r)
                FewRowKernel.Multiply(step.LowRank, part.B, null, y, rows, p.Out, part.Rank, accumulate: true, scale: part.Scale);
                continue;
            }

            int* members = step.GroupRows + group.Start;
            for (int i = 0; i < group.Count; i++)
            {
                new ReadOnlySpan<float>(x + ((long)members[i] * p.In), p.In).CopyTo(new Span<float>(step.Gathered + ((long)i * p.In), p.In));
            }
            FewRowKernel.Multiply(step.Gathered, part.A, null, step.LowRank, group.Count, part.Rank, p.In);     // (m, r)
            FewRowKernel.Multiply(step.LowRank, part.B, null, step.Delta, group.Count, p.Out, part.Rank);        // (m, out)
            for (int i = 0; i < group.Count; i++)
            {
                float* target = y + ((long)members[i] * p.Out), delta = step.Delta + ((long)i * p.Out);
                for (int j = 0; j < p.Out; j++)
                {
                    target[j] += part.Scale * delta[j];
                }
            }
        }
    }

    /// <summary>gate ← silu(gate) · up, element by element (silu(x) = x / (1 + e^−x), as libtorch computes it).</summary>
    private static void SiluTimes(float* gate, float* up, long count)
    {
        long i = 0;
        var one = Vector256<float>.One;
        for (; i + Vector256<float>.Count <= count; i += Vector256<float>.Count)
        {
            var g = Vector256.Load(gate + i);
            (g / (one + Vector256.Exp(-g)) * Vector256.Load(up + i)).Store(gate + i);
        }
        for (; i < count; i++)
        {
            gate[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
        }
    }

    [UnmanagedCallersOnly]
    private static void AttendBody(void* state) => Attend((AttentionArgs*)state, OpenMpTeam.ThreadNumber(), OpenMpTeam.TeamSize());

    /// <summary>
    /// Thread <paramref name="thread"/> of <paramref name="threads"/>: every threads-th (row, K/V head) pair, attending its
    /// G query heads over the row's allowed columns with softmax(q·kᵀ/√D)·v. Scores are taken 8 keys at a time (eight
    /// dot products summed in one horizontal-add tree instead of eight lane sums); the same code runs for a row whatever
    /// rows share the step.
    /// </summary>
    private static void Attend(AttentionArgs* a, int thread, int threads)
    {
        int groups = a->Heads / a->KvHeads, span = a->Span, dim = a->Dim;
        float* scores = a->Scores + ((long)thread * groups * span);
        int pairs = a->Rows * a->KvHeads;
        bool eightKeys = Avx.IsSupported && Fma.IsSupported && dim % Vector256<float>.Count == 0;
        for (int pair = thread; pair < pairs; pair += threads)
        {
            int row = pair / a->KvHeads, kvHead = pair % a->KvHeads;
            float* keys = a->Keys + (row * a->RowStride) + (kvHead * a->HeadStride);
            float* values = a->Values + (row * a->RowStride) + (kvHead * a->HeadStride);
            byte* allowed = a->Mask is null ? null : a->Mask + ((long)row * span);
            long firstHead = ((long)row * a->Heads) + ((long)kvHead * groups);
            float* queries = a->Queries + (firstHead * dim);
            float* output = a->Output + (firstHead * dim);

            // The row's own columns end after its last allowed one: the columns past it exist only because a longer row
            // shares the step, and leaving them out keeps the row's sums in the same order as when it runs alone.
            int length = span;
            while (allowed is not null && length > 1 && allowed[length - 1] == 0)
            {
                length--;
            }

            for (int j = 0; j < groups; j++)
            {
                float* query = queries + ((long)j * dim);
                float* weights = scores + ((long)j * span);
                int s = 0;
                if (eightKeys)
                {
                    for (; s + 8 <= length; s += 8)
                    {
                        EightScores(query, keys + ((long)s * dim), dim, weights + s);
                    }
                }
                for (; s < length; s++)
                {
                    weights[s] = Dot(query, keys + ((long)s * dim), dim);
                }
                Softmax(weights, length, allowed, a->Scale);
                new Span<float>(output + ((long)j * dim), dim).Clear();
            }

            for (int s = 0; s < length; s++)
            {
                if (allowed is not null && allowed[s] == 0)
                {
                    continue;                                                          // its value may be uninitialised
                }
                float* value = values + ((long)s * dim);
                for (int j = 0; j < groups; j++)
                {
                    AddScaled(output + ((long)j * dim), value, scores[((long)j * span) + s], dim);
                }
            }
        }
    }

    /// <summary>The dot products of <paramref name="query"/> with 8 consecutive keys of <paramref name="dim"/> (a multiple of 8) into result[0..8].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EightScores(float* query, float* key, int dim, float* result)
    {
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (int d = 0; d < dim; d += Vector256<float>.Count)
        {
            var q = Vector256.Load(query + d);
            s0 = Fma.MultiplyAdd(q, Vector256.Load(key + d), s0);
            s1 = Fma.MultiplyAdd(q, Vector256.Load(key + dim + d), s1);
            s2 = Fma.MultiplyAdd(q, Vector256.Load(key + (2 * dim) + d), s2);
            s3 = Fma.MultiplyAdd(q, Vector256.Load(key + (3 * dim) + d), s3);
            s4 = Fma.MultiplyAdd(q, Vector256.Load(key + (4 * dim) + d), s4);
            s5 = Fma.MultiplyAdd(q, Vector256.Load(key + (5 * dim) + d), s5);
            s6 = Fma.MultiplyAdd(q, Vector256.Load(key + (6 * dim) + d), s6);
            s7 = Fma.MultiplyAdd(q, Vector256.Load(key + (7 * dim) + d), s7);
        }
        // [k0 01, k0 23, k1 01, k1 23 | k0 45, k0 67, k1 45, k1 67], then [k0..k3 0123 | k0..k3 4567], then the halves added.
        var low = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));
        var high = Avx.HorizontalAdd(Avx.HorizontalAdd(s4, s5), Avx.HorizontalAdd(s6, s7));
        (Avx.Permute2x128(low, high, 0x20) + Avx.Permute2x128(low, high, 0x31)).Store(result);
    }

    /// <summary>
    /// weights ← softmax(scale · weights) over the allowed columns; a column the mask forbids gets weight 0 (its score is
    /// replaced before the exponential, so a score computed from an uninitialised key never reaches a sum).
    /// </summary>
    private static void Softmax(float* weights, int span, byte* allowed, float scale)
    {
        const float Forbidden = -1e30f;                                                // e^(Forbidden − max) underflows to 0
        float max = Forbidden;
        for (int s = 0; s < span; s++)
        {
            float w = allowed is null || allowed[s] != 0 ? weights[s] * scale : Forbidden;
            weights[s] = w;
            max = MathF.Max(max, w);
        }

        var vectorMax = Vector256.Create(max);
        var sums = Vector256<float>.Zero;
        int i = 0;
        for (; i + Vector256<float>.Count <= span; i += Vector256<float>.Count)
        {
            var e = Vector256.Exp(Vector256.Load(weights + i) - vectorMax);
            e.Store(weights + i);
            sums += e;
        }
        float sum = Vector256.Sum(sums);
        for (; i < span; i++)
        {
            weights[i] = MathF.Exp(weights[i] - max);
            sum += weights[i];
        }

        var inverse = Vector256.Create(1f / sum);
        i = 0;
        for (; i + Vector256<float>.Count <= span; i += Vector256<float>.Count)
        {
            (Vector256.Load(weights + i) * inverse).Store(weights + i);
        }
        for (; i < span; i++)
        {
            weights[i] *= inverse[0];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(float* x, float* y, int count)
    {
        var sum0 = Vector256<float>.Zero;
        var sum1 = Vector256<float>.Zero;
        int i = 0;
        for (; i + (2 * Vector256<float>.Count) <= count; i += 2 * Vector256<float>.Count)
        {
            sum0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), sum0);
            sum1 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + Vector256<float>.Count), Vector256.Load(y + i + Vector256<float>.Count), sum1);
        }
        float sum = Vector256.Sum(sum0 + sum1);
        for (; i < count; i++)
        {
            sum += x[i] * y[i];
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled(float* target, float* source, float weight, int count)
    {
        var w = Vector256.Create(weight);
        int i = 0;
        for (; i + Vector256<float>.Count <= count; i += Vector256<float>.Count)
        {
            Vector256.FusedMultiplyAdd(Vector256.Load(source + i), w, Vector256.Load(target + i)).Store(target + i);
        }
        for (; i < count; i++)
        {
            target[i] += source[i] * weight;
        }
    }

    private static bool IsAngleRows(Tensor angles, long rows, long dim) =>
        TensorMemory.IsReadable(angles) && angles.shape is [var b, 1, 1, var d] && (b == 1 || b == rows) && d == dim;

    private static bool IsMask(Tensor mask, long rows, long span) =>
        mask.dtype == ScalarType.Bool && mask.device_type == DeviceType.CPU && mask.is_contiguous()
        && mask.shape is [var b, 1, 1, var s] && b == rows && s == span;

    /// <summary>
    /// One layer's operands; each projection's adapter parts go to <paramref name="lowRank"/> from
    /// <paramref name="first"/> on (the 7 projections in order, one part per adapter each).
    /// </summary>
    private static bool TryPlan(DecoderLayer layer, LoraAdapter[] adapters, TransformerConfig config, bool recording, out LayerPlan plan, LowRankPart[] lowRank, int first, ref int maxRank)
    {
        plan = default;
        var attention = layer.self_attn;
        var mlp = layer.mlp;
        int q = config.NumAttentionHeads * config.HeadDim, kv = config.NumKeyValueHeads * config.HeadDim;
        int count = adapters.Length;
        if (!TryNorm(layer.input_layernorm, config.HiddenSize, recording, out plan.InputNorm)
            || !TryNorm(layer.post_attention_layernorm, config.HiddenSize, recording, out plan.PostNorm)
            || (attention.q_norm is { } qNorm && !TryNorm(qNorm, config.HeadDim, recording, out plan.QueryNorm))
            || (attention.k_norm is { } kNorm && !TryNorm(kNorm, config.HeadDim, recording, out plan.KeyNorm))
            || (attention.q_norm is null) != (attention.k_norm is null)
            || !TryProjection(attention.q_proj, adapters, recording, config.HiddenSize, q, out plan.Q, lowRank, first + (0 * count), ref maxRank)
            || !TryProjection(attention.k_proj, adapters, recording, config.HiddenSize, kv, out plan.K, lowRank, first + (1 * count), ref maxRank)
            || !TryProjection(attention.v_proj, adapters, recording, config.HiddenSize, kv, out plan.V, lowRank, first + (2 * count), ref maxRank)
            || !TryProjection(attention.o_proj, adapters, recording, q, config.HiddenSize, out plan.O, lowRank, first + (3 * count), ref maxRank)
            || !TryProjection(mlp.gate_proj, adapters, recording, config.HiddenSize, config.IntermediateSize, out plan.Gate, lowRank, first + (4 * count), ref maxRank)
            || !TryProjection(mlp.up_proj, adapters, recording, config.HiddenSize, config.IntermediateSize, out plan.Up, lowRank, first + (5 * count), ref maxRank)
            || !TryProjection(mlp.down_proj, adapters, recording, config.IntermediateSize, config.HiddenSize, out plan.Down, lowRank, first + (6 * count), ref maxRank))
        {
            return false;
        }
        plan.Eps = (float)layer.input_layernorm.Eps;
        return layer.post_attention_layernorm.Eps == layer.input_layernorm.Eps
            && (attention.q_norm is null || (attention.q_norm.Eps == layer.input_layernorm.Eps && attention.k_norm!.Eps == layer.input_layernorm.Eps));
    }

    private static bool TryNorm(RmsNorm norm, long width, bool recording, out float* gain)
    {
        gain = null;
        if (!TensorMemory.IsReadable(norm.weight) || norm.weight.numel() != width || (recording && norm.weight.requires_grad))
        {
            return false;
        }
        gain = TensorMemory.Floats(norm.weight);
        return true;
    }

    /// <summary>
    /// The operands of <paramref name="linear"/> and of each adapter's update for it (into <paramref name="lowRank"/> from
    /// <paramref name="first"/> on, one per adapter, A null where the adapter does not target the module); false when any is not a contiguous float32 CPU
    /// tensor of the expected shape, or, while autograd is <paramref name="recording"/>, needs a gradient.
    /// </summary>
    private static bool TryProjection(LoraLinear linear, LoraAdapter[] adapters, bool recording, long inFeatures, long outFeatures, out Projection p, LowRankPart[] lowRank, int first, ref int maxRank)
    {
        p = default;
        var weight = linear.Weight;
        if (!TensorMemory.IsReadable(weight) || weight.shape is not [var n, var k] || n != outFeatures || k != inFeatures
            || (recording && weight.requires_grad)
            || (linear.Bias is { } bias && (!TensorMemory.IsReadable(bias) || bias.numel() != outFeatures || (recording && bias.requires_grad))))
        {
            return false;
        }
        p.Weight = TensorMemory.Floats(weight);
        p.Bias = linear.Bias is null ? null : TensorMemory.Floats(linear.Bias);
        p.Out = (int)outFeatures;
        p.In = (int)inFeatures;
        p.FirstPart = first;
        for (int g = 0; g < adapters.Length; g++)
        {
            lowRank[first + g] = default;
            if (!adapters[g].TryGetWeights(linear.ModulePath, out var a, out var b))
            {
                continue;
            }
            if (!TensorMemory.IsReadable(a) || !TensorMemory.IsReadable(b) || (recording && (a.requires_grad || b.requires_grad))
                || a.shape is not [var rank, var ak] || ak != inFeatures
                || b.shape is not [var bn, var br] || bn != outFeatures || br != rank || rank < 1)
            {
                return false;
            }
            lowRank[first + g] = new LowRankPart { A = TensorMemory.Floats(a), B = TensorMemory.Floats(b), Rank = (int)rank, Scale = (float)adapters[g].Scaling };
            maxRank = Math.Max(maxRank, (int)rank);
        }
        return true;
    }

    /// <summary>Projections per decoder layer: q, k, v, o, gate, up, down.</summary>
    private const int ProjectionsPerLayer = 7;

    /// <summary>One projection's operands: W [Out, In], bias [Out] or null, and each adapter group's update.</summary>
    private struct Projection
    {
        public float* Weight, Bias;
        public int Out, In;

        /// <summary>Where this projection's parts start in <see cref="Step.Parts"/>: one per adapter group, in group order.</summary>
        public int FirstPart;
    }

    /// <summary>An adapter's update for one projection: A [Rank, In], B [Out, Rank] and its scale; A null when it has none.</summary>
    private struct LowRankPart
    {
        public float* A, B;
        public int Rank;
        public float Scale;
    }

    /// <summary>The rows that use one adapter: <see cref="Step.GroupRows"/>[Start .. Start + Count].</summary>
    private struct AdapterGroup
    {
        public int Start, Count;
    }

    /// <summary>One layer's operands (the norms' gains and the seven projections).</summary>
    private struct LayerPlan
    {
        public float* InputNorm, PostNorm, QueryNorm, KeyNorm;
        public float Eps;
        public Projection Q, K, V, O, Gate, Up, Down;
    }

    /// <summary>The step's sizes.</summary>
    private struct Shape
    {
        public int Rows, Hidden, Heads, KvHeads, Dim, Intermediate, Span, Threads;
    }

    private struct AttentionArgs
    {
        public float* Queries, Output, Keys, Values, Scores;
        public byte* Mask;
        public long RowStride, HeadStride;
        public int Rows, Heads, KvHeads, Dim, Span;
        public float Scale;
    }

    /// <summary>The step's inputs and its scratch buffers (one native block, freed by <see cref="Free"/>).</summary>
    private struct Step
    {
        public float* Hidden, Cos, Sin;
        public int AngleRows;
        public byte* Mask;
        public float* Normed, Queries, Keys, Values, Attended, Gate, Up, LowRank, Scores, Gathered, Delta;
        public LowRankPart* Parts;
        public AdapterGroup* Groups;
        public int GroupCount;
        public int* GroupRows;
        private void* _block;

        public void Allocate(in Shape s, int maxRank)
        {
            long rows = s.Rows, queryWidth = (long)s.Heads * s.Dim, kvWidth = (long)s.KvHeads * s.Dim;
            long[] sizes =
            [
                rows * s.Hidden,                                                   // Normed
                rows * queryWidth,                                                 // Queries
                rows * kvWidth,                                                    // Keys
                rows * kvWidth,                                                    // Values
                rows * queryWidth,                                                 // Attended
                rows * s.Intermediate,                                             // Gate
                rows * s.Intermediate,                                             // Up
                rows * Math.Max(1, maxRank),                                       // LowRank
                (long)s.Threads * (s.Heads / s.KvHeads) * s.Span,                  // Scores, one block per thread
                rows * Math.Max(Math.Max(s.Hidden, s.Intermediate), s.Heads * s.Dim), // Gathered: one adapter group's inputs
                rows * Math.Max(Math.Max(s.Hidden, s.Intermediate), s.Heads * s.Dim), // Delta: its updates
            ];
            // Each buffer starts on a 64-byte line.
            long total = sizes.Sum(Lines);
            _block = NativeMemory.AlignedAlloc((nuint)(total * sizeof(float)), 64);
            var buffers = new float*[sizes.Length];
            var next = (float*)_block;
            for (int i = 0; i < sizes.Length; i++)
            {
                buffers[i] = next;
                next += Lines(sizes[i]);
            }
            Normed = buffers[0];
            Queries = buffers[1];
            Keys = buffers[2];
            Values = buffers[3];
            Attended = buffers[4];
            Gate = buffers[5];
            Up = buffers[6];
            LowRank = buffers[7];
            Scores = buffers[8];
            Gathered = buffers[9];
            Delta = buffers[10];
        }

        /// <summary>Floats of <paramref name="size"/> rounded up to whole 64-byte lines.</summary>
        private static long Lines(long size) => (size + 15) / 16 * 16;

        public void Free()
        {
            NativeMemory.AlignedFree(_block);
            _block = null;
        }
    }
}
