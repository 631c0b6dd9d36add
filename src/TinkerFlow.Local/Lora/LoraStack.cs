using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Lora;

/// <summary>
/// The LoRA weights of several adapters over one base model stacked per module, so a multi-adapter batch computes every
/// row's update with two batched matmuls (the Punica/S-LoRA idea): <c>Aᵀ</c> as [G, in, r] and <c>scaling · Bᵀ</c> as
/// [G, r, out], one slice per adapter.
/// </summary>
/// <remarks>
/// <para>Slice g belongs to <see cref="Adapters"/>[g]; a null entry (rows on the base model) and an adapter that does not
/// target a module get zero slices. Ranks may differ: each slice is zero-padded to the largest rank, which adds
/// nothing. A module's stack is built on its first use and kept until <see cref="Dispose"/>.</para>
/// <para>The stacks are copies taken at first use: adapters must not change while a stack over them is alive (sampler
/// adapters are immutable snapshots).</para>
/// </remarks>
internal sealed class LoraStack : IDisposable
{
    private readonly Dictionary<string, (Tensor Down, Tensor Up)?> _modules = new(StringComparer.Ordinal);
    private readonly LoraAdapter?[] _adapters;

    /// <summary>A stack over <paramref name="adapters"/> (distinct; null = the base model).</summary>
    public LoraStack(IReadOnlyList<LoraAdapter?> adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        _adapters = [.. adapters];
    }

    /// <summary>The adapter of each slice, in slice order.</summary>
    public IReadOnlyList<LoraAdapter?> Adapters => _adapters;

    /// <summary>The slice of <paramref name="adapter"/> (reference identity), or −1.</summary>
    public int IndexOf(LoraAdapter? adapter)
    {
        for (int g = 0; g < _adapters.Length; g++)
        {
            if (ReferenceEquals(_adapters[g], adapter))
            {
                return g;
            }
        }
        return -1;
    }

    /// <summary>True when the stack holds exactly the adapters of <paramref name="adapters"/> (any order).</summary>
    public bool HoldsExactly(IReadOnlyCollection<LoraAdapter?> adapters) =>
        adapters.Count == _adapters.Length && adapters.All(a => IndexOf(a) >= 0);

    /// <summary>
    /// The stacked weights of <paramref name="linear"/>: down [G, in, r] (Aᵀ) and up [G, r, out] (scaling · Bᵀ); false
    /// when no adapter of the stack targets it.
    /// </summary>
    public bool TryGet(LoraLinear linear, out Tensor down, out Tensor up)
    {
        ArgumentNullException.ThrowIfNull(linear);
        if (!_modules.TryGetValue(linear.ModulePath, out var stacked))
        {
            stacked = Build(linear);
            _modules[linear.ModulePath] = stacked;
        }
        if (stacked is { } pair)
        {
            (down, up) = pair;
            return true;
        }
        down = up = null!;
        return false;
    }

    /// <summary>Frees the stacked weights.</summary>
    public void Dispose()
    {
        foreach (var pair in _modules.Values)
        {
            if (pair is { } p)
            {
                p.Down.Dispose();
                p.Up.Dispose();
            }
        }
        _modules.Clear();
    }

    private (Tensor Down, Tensor Up)? Build(LoraLinear linear)
    {
        var weights = new (Tensor A, Tensor B, double Scaling)?[_adapters.Length];
        long rank = 0;
        for (int g = 0; g < _adapters.Length; g++)
        {
            if (_adapters[g] is { } adapter && adapter.TryGetWeights(linear.ModulePath, out var a, out var b))
            {
                weights[g] = (a, b, adapter.Scaling);
                rank = Math.Max(rank, a.shape[0]);
            }
        }
        if (rank == 0)
        {
            return null;
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var first = weights.First(w => w is not null)!.Value.A;
        var down = torch.zeros([_adapters.Length, linear.InFeatures, rank], first.dtype, first.device);  // (G, in, r)
        var up = torch.zeros([_adapters.Length, rank, linear.OutFeatures], first.dtype, first.device);   // (G, r, out)
        for (int g = 0; g < weights.Length; g++)
        {
            if (weights[g] is { } w)
            {
                long r = w.A.shape[0];
                down[g].narrow(1, 0, r).copy_(w.A.t());                                      // (in, r_g) ← A [r_g, in]
                up[g].narrow(0, 0, r).copy_(w.B.t() * w.Scaling);                            // (r_g, out) ← B [out, r_g]
            }
        }
        return (down.DetachFromDisposeScope(), up.DetachFromDisposeScope());
    }
}
