using TinkerFlow.Local.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Lora;

/// <summary>
/// Which LoRA adapter each row of a batch uses, for batches whose rows come from different samplers over one base
/// model (the S-LoRA/Punica idea): every <see cref="LoraLinear"/> runs its base matmul once for all rows and then adds
/// each adapter's low-rank update to that adapter's rows only.
/// </summary>
/// <remarks>
/// Rows are the leading dimension of the projection inputs flattened to [N, in] (a decode step's [R, 1, C] gives one
/// row per sequence). Rows without an adapter get the base projection alone. The row indices live on the device as
/// int64 tensors owned by the routing; dispose it when the batch's composition changes.
/// </remarks>
internal sealed class LoraRouting : IDisposable
{
    private readonly (LoraAdapter Adapter, Tensor Rows, long Count)[] _groups;

    private LoraRouting((LoraAdapter, Tensor, long)[] groups, LoraAdapter? single, long rows)
    {
        _groups = groups;
        Single = single;
        RowCount = rows;
    }

    /// <summary>The one adapter every row uses (null: the rows use several adapters, or none at all).</summary>
    public LoraAdapter? Single { get; }

    /// <summary>True when every row uses <see cref="Single"/> (or every row uses the base model).</summary>
    public bool IsUniform => _groups.Length == 0 || Single is not null;

    /// <summary>Number of rows routed.</summary>
    public long RowCount { get; }

    /// <summary>Number of distinct adapters among the rows.</summary>
    public int AdapterCount => Single is not null ? 1 : _groups.Length;

    /// <summary>Groups the rows by adapter (reference identity); <paramref name="adapters"/> holds one entry per row.</summary>
    public static LoraRouting Create(IReadOnlyList<LoraAdapter?> adapters, Device device)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        var distinct = adapters.Distinct(ReferenceEqualityComparer.Instance).Cast<LoraAdapter?>().ToList();
        if (distinct.Count == 1)
        {
            return new LoraRouting([], distinct[0], adapters.Count);
        }

        var groups = new List<(LoraAdapter, Tensor, long)>();
        foreach (var adapter in distinct.OfType<LoraAdapter>())
        {
            var rows = Enumerable.Range(0, adapters.Count).Where(i => ReferenceEquals(adapters[i], adapter)).Select(i => (long)i).ToArray();
            groups.Add((adapter, torch.tensor(rows, ScalarType.Int64, device).DetachFromDisposeScope(), rows.Length)); // (n_g)
        }
        return new LoraRouting([.. groups], null, adapters.Count);
    }

    /// <summary>
    /// Adds every adapter's update of <paramref name="linear"/> to its rows of <paramref name="baseOutput"/>.
    /// x: [N, in], baseOutput: [N, out] (written in place and returned).
    /// </summary>
    public Tensor AddDeltas(LoraLinear linear, Tensor x, Tensor baseOutput)
    {
        foreach (var (adapter, rows, _) in _groups)
        {
            if (!adapter.TryGetWeights(linear.ModulePath, out var a, out var b))
            {
                continue;
            }
            using var scope = torch.NewDisposeScope();
            var picked = x.index_select(0, rows);                                    // (n_g, in)
            var up = nn.functional.linear(nn.functional.linear(picked, a), b);       // (n_g, out)
            using var scaling = adapter.Scaling.ToScalar();
            baseOutput.index_add_(0, rows, up, scaling);
        }
        return baseOutput;
    }

    /// <summary>Frees the row-index tensors.</summary>
    public void Dispose()
    {
        foreach (var (_, rows, _) in _groups)
        {
            rows.Dispose();
        }
    }
}
