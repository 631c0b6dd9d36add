using TinkerFlow.Local.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Lora;

/// <summary>
/// A frozen linear projection <c>y = x Wᵀ + b</c> that adds a LoRA update <c>scaling · (x Aᵀ) Bᵀ</c> when the
/// <see cref="LoraAdapter"/> passed to <see cref="forward(Tensor, LoraAdapter?)"/> has weights for this module.
/// </summary>
/// <remarks>
/// <para>Every projection of <see cref="Model.CausalLm"/> is a <see cref="LoraLinear"/>, so one base model serves any
/// number of adapters: the adapter travels with the forward call instead of being injected into the module tree, and
/// with no adapter (or one that does not target this module) the layer is exactly the base linear.</para>
/// <para>Its state-dict entries are <c>weight</c> [out, in] and optional <c>bias</c> [out], the keys of the
/// <c>nn.Linear</c> it wraps, so checkpoint keys such as <c>model.layers.0.self_attn.q_proj.weight</c> are unchanged.
/// A tied <c>lm_head</c> shares the embedding's weight and registers nothing.</para>
/// </remarks>
internal sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    private readonly Linear? _base;

    /// <summary>Wraps a new <c>nn.Linear(inFeatures, outFeatures, hasBias)</c> with TorchSharp's default initialisation.</summary>
    public LoraLinear(long inFeatures, long outFeatures, bool hasBias) : base(nameof(LoraLinear))
    {
        _base = nn.Linear(inFeatures, outFeatures, hasBias);
        Weight = _base.weight!;
        Bias = _base.bias;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        // Registered by hand (not RegisterComponents) so the keys are the wrapped Linear's own: weight, bias.
        register_parameter("weight", Weight);
        if (Bias is not null)
        {
            register_parameter("bias", Bias);
        }
    }

    /// <summary>
    /// Uses <paramref name="sharedWeight"/> [out, in] (registered by another module, e.g. a tied embedding) without
    /// registering it again, so the state dict holds it once.
    /// </summary>
    public LoraLinear(Parameter sharedWeight) : base(nameof(LoraLinear))
    {
        Weight = sharedWeight;
        OutFeatures = sharedWeight.shape[0];
        InFeatures = sharedWeight.shape[1];
        IsWeightShared = true;
    }

    /// <summary>The base weight. [out, in] float32</summary>
    public Parameter Weight { get; }

    /// <summary>The base bias, if any. [out] float32</summary>
    public Parameter? Bias { get; }

    /// <summary>Input width.</summary>
    public long InFeatures { get; }

    /// <summary>Output width.</summary>
    public long OutFeatures { get; }

    /// <summary>True if <see cref="Weight"/> belongs to another module (tied embeddings).</summary>
    public bool IsWeightShared { get; }

    /// <summary>
    /// This module's path in the model, e.g. <c>model.layers.0.self_attn.q_proj</c>; set by the owning model and used
    /// as the adapter lookup key.
    /// </summary>
    public string ModulePath { get; internal set; } = "";

    /// <summary>The base projection only. x: [..., in] → [..., out]</summary>
    public override Tensor forward(Tensor x) => Project(x, Weight, Bias);

    /// <summary>Most rows for which <see cref="Project"/> computes <c>W·xᵀ</c> instead of <c>x·Wᵀ</c>.</summary>
    internal const long FewRows = 64;

    /// <summary>
    /// Fewest weight elements for which one row goes in as two columns (measured 1.07× faster at 131k elements, 1.25× at
    /// 262k; a LoRA factor of 8k elements is 1.4× slower that way).
    /// </summary>
    internal const long SingleRowElements = 128 * 1024;

    /// <summary>
    /// <c>x Wᵀ + b</c>, as <c>nn.functional.linear</c>. With 1 to <see cref="FewRowKernel.MaxRows"/> rows and no
    /// gradient to record (sampling), <see cref="FewRowKernel"/> computes it, reading W once on every torch thread;
    /// where that kernel does not apply (autograd, other dtypes, no AVX2), it is computed as <c>(W xᵀ)ᵀ</c> when x has 1
    /// to <see cref="FewRows"/> rows. MKL spreads <c>W xᵀ</c> over the weight's rows on every thread, while <c>x Wᵀ</c> with so
    /// few rows runs at about one thread's speed: over the benchmark model's projections (2 threads) 16 rows take 6.7 ms
    /// instead of 9.1 ms and 2 rows 2.9 ms instead of 7.0 ms; from about 128 rows on the two are equal. One row would be a
    /// matrix-vector product, which MKL runs on one thread (20–28 GB/s here), so it goes in as two identical columns: a
    /// threaded product that still reads the weight once (25–43 GB/s; Qwen3-0.6B's weights 1.4–1.5× faster, its decode
    /// 8.7–9.3 → 11.9 tokens/s). With one torch thread, or a weight below <see cref="SingleRowElements"/>, a single row
    /// stays a matrix-vector product.
    /// </summary>
    /// <param name="x">[..., in] float32.</param>
    /// <param name="weight">[out, in] float32.</param>
    /// <param name="bias">[out] float32, or null.</param>
    /// <returns>[..., out] float32, contiguous.</returns>
    internal static Tensor Project(Tensor x, Tensor weight, Tensor? bias)
    {
        long inFeatures = x.shape[^1];
        long rows = inFeatures == 0 ? 0 : x.numel() / inFeatures;
        if (rows >= 1 && rows <= FewRowKernel.MaxRows)
        {
            using var kernelScope = torch.NewDisposeScope();
            if (FewRowKernel.TryProject(x.reshape(rows, inFeatures), weight, bias, out var kernel))
            {
                long[] outShape = [.. x.shape[..^1], weight.shape[0]];
                return kernel!.view(outShape).MoveToOuterDisposeScope();
            }
        }

        bool single = rows == 1 && weight.numel() >= SingleRowElements && torch.get_num_threads() > 1;
        if (!single && (rows < 2 || rows > FewRows))
        {
            return nn.functional.linear(x, weight, bias);
        }

        using var scope = torch.NewDisposeScope();
        var flat = x.reshape(rows, inFeatures);                                        // (N, in)
        if (single)
        {
            // One row is a matrix-vector product, which MKL runs on one thread; as two identical columns it is a
            // threaded product that reads the weight once, at the bandwidth of every thread.
            flat = torch.cat([flat, flat], 0);                                         // (2, in)
        }

        var columns = flat.t();                                                        // (in, N)
        var product = bias is null
            ? weight.mm(columns)                                                       // (out, N)
            : torch.addmm(bias.unsqueeze(1), weight, columns, 1, 1);                       // (out, N)
        long[] shape = [.. x.shape[..^1], weight.shape[0]];
        var result = single ? product.select(1, 0) : product.t();                      // (N, out)
        return result.contiguous().view(shape).MoveToOuterDisposeScope();              // (..., out)
    }

    /// <summary>
    /// The base projection plus <paramref name="adapter"/>'s update for this module, if it has one.
    /// x: [..., in] float32 → [..., out] float32.
    /// </summary>
    public Tensor forward(Tensor x, LoraAdapter? adapter)
    {
        if (adapter is null || !adapter.TryGetWeights(ModulePath, out var a, out var b))
        {
            return forward(x);
        }

        using var scope = torch.NewDisposeScope();
        var y = Project(x, Weight, Bias);                                   // (..., out)
        if (FewRowKernel.TryAddLowRank(x, a, b, adapter.Scaling, y))
        {
            return y.MoveToOuterDisposeScope();                             // (..., out), y += s·(x Aᵀ) Bᵀ in place
        }

        var down = nn.functional.linear(x, a);                              // (..., r)
        var up = nn.functional.linear(down, b);                             // (..., out)
        using var scaling = adapter.Scaling.ToScalar();
        return y.add(up.mul(scaling), Scalars.One).MoveToOuterDisposeScope();        // (..., out)
    }

    /// <summary>
    /// The base projection plus, with a <paramref name="routing"/>, each row's own adapter update (base matmul once for
    /// all rows, the low-rank updates grouped by adapter); without one, <see cref="forward(Tensor, LoraAdapter?)"/>.
    /// x: [..., in] float32 → [..., out] float32.
    /// </summary>
    public Tensor forward(Tensor x, LoraAdapter? adapter, LoraRouting? routing)
    {
        if (routing is null)
        {
            return forward(x, adapter);
        }
        if (routing.IsUniform)
        {
            return forward(x, routing.Single);
        }

        using var scope = torch.NewDisposeScope();
        var rows = x.reshape(-1, InFeatures);                                   // (N, in)
        var y = Project(rows, Weight, Bias);                                    // (N, out)
        routing.AddDeltas(this, rows, y);
        long[] shape = [.. x.shape[..^1], OutFeatures];
        return y.view(shape).MoveToOuterDisposeScope();                         // (..., out)
    }

    /// <summary>
    /// Does nothing: the parameters were registered by hand in the constructor under the wrapped Linear's own names,
    /// and the default field scan would add the wrapped module (<c>_base.weight</c>) or a shared weight a second time.
    /// </summary>
    protected override void RegisterComponents()
    {
    }

    /// <summary>Disposes the wrapped linear (a shared weight is left to its owner).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _base?.Dispose();
        }
        base.Dispose(disposing);
    }
}
