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
/// <para>Rows are the leading dimension of the projection inputs flattened to [N, in] (a decode step's [R, 1, C] gives one
/// row per sequence). Rows without an adapter get the base projection alone.</para>
/// <para>With a <see cref="LoraStack"/> over the rows' adapters, and groups of similar size, the updates of all groups
/// take a fixed number of ops whatever the number of adapters: the rows are gathered into [G, m, in] (each group padded
/// to the largest, m rows), multiplied by the stacked Aᵀ and scaling · Bᵀ with two <c>bmm</c>s, and gathered back.
/// Otherwise each adapter's rows are picked, multiplied and added back in turn.</para>
/// <para>The row indices live on the device as int64 tensors owned by the routing; dispose it when the batch's
/// composition changes.</para>
/// </remarks>
internal sealed class LoraRouting : IDisposable
{
    private readonly (LoraAdapter Adapter, Tensor Rows, long Count)[] _groups;
    private readonly LoraStack? _stack;
    private readonly Tensor? _padIndex;                                                      // (G·m) row of each padded slot
    private readonly Tensor? _backIndex;                                                     // (N) padded slot of each row
    private readonly long _groupRows;
    private readonly int _stackedAdapters;

    private LoraRouting((LoraAdapter, Tensor, long)[] groups, LoraAdapter? single, LoraAdapter?[] rowAdapters)
    {
        _groups = groups;
        Single = single;
        RowCount = rowAdapters.Length;
        RowAdapters = rowAdapters;
    }

    private LoraRouting(LoraStack stack, Tensor padIndex, Tensor backIndex, long groupRows, int adapters, LoraAdapter?[] rowAdapters)
    {
        RowAdapters = rowAdapters;
        _groups = [];
        _stack = stack;
        _padIndex = padIndex;
        _backIndex = backIndex;
        _groupRows = groupRows;
        _stackedAdapters = adapters;
        RowCount = rowAdapters.Length;
    }

    /// <summary>The one adapter every row uses (null: the rows use several adapters, or none at all).</summary>
    public LoraAdapter? Single { get; }

    /// <summary>True when every row uses <see cref="Single"/> (or every row uses the base model).</summary>
    public bool IsUniform => _stack is null && (_groups.Length == 0 || Single is not null);

    /// <summary>True when the updates run as two batched matmuls over a <see cref="LoraStack"/>.</summary>
    public bool IsStacked => _stack is not null;

    /// <summary>Each row's adapter (null: the base model), in row order.</summary>
    public IReadOnlyList<LoraAdapter?> RowAdapters { get; }

    /// <summary>Number of rows routed.</summary>
    public long RowCount { get; }

    /// <summary>Number of distinct adapters among the rows.</summary>
    public int AdapterCount => _stack is not null ? _stackedAdapters : Single is not null ? 1 : _groups.Length;

    /// <summary>
    /// Groups the rows by adapter (reference identity); <paramref name="adapters"/> holds one entry per row. With
    /// <paramref name="stack"/> (holding every adapter of the rows) and groups of similar size, the updates use the
    /// stacked weights (see the remarks).
    /// </summary>
    public static LoraRouting Create(IReadOnlyList<LoraAdapter?> adapters, Device device, LoraStack? stack = null)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        var distinct = adapters.Distinct(ReferenceEqualityComparer.Instance).Cast<LoraAdapter?>().ToList();
        if (distinct.Count == 1)
        {
            return new LoraRouting([], distinct[0], [.. adapters]);
        }

        if (stack is not null && TryStacked(adapters, distinct.Count(a => a is not null), device, stack) is { } stacked)
        {
            return stacked;
        }

        var groups = new List<(LoraAdapter, Tensor, long)>();
        foreach (var adapter in distinct.OfType<LoraAdapter>())
        {
            var rows = Enumerable.Range(0, adapters.Count).Where(i => ReferenceEquals(adapters[i], adapter)).Select(i => (long)i).ToArray();
            groups.Add((adapter, torch.tensor(rows, ScalarType.Int64, device).DetachFromDisposeScope(), rows.Length)); // (n_g)
        }
        return new LoraRouting([.. groups], null, [.. adapters]);
    }

    /// <summary>
    /// Adds every adapter's update of <paramref name="linear"/> to its rows of <paramref name="baseOutput"/>.
    /// x: [N, in], baseOutput: [N, out] (written in place and returned).
    /// </summary>
    public Tensor AddDeltas(LoraLinear linear, Tensor x, Tensor baseOutput)
    {
        if (_stack is not null)
        {
            if (_stack.TryGet(linear, out var down, out var up))
            {
                using var stackScope = torch.NewDisposeScope();
                long groups = down.shape[0];
                var padded = x.index_select(0, _padIndex!).view(groups, _groupRows, -1);     // (G, m, in)
                var updates = padded.bmm(down).bmm(up);                                     // (G, m, out)
                baseOutput.add_(updates.view(groups * _groupRows, -1).index_select(0, _backIndex!), Scalars.One); // (N, out)
            }
            return baseOutput;
        }

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

    /// <summary>Frees the row-index tensors (the stack belongs to the caller).</summary>
    public void Dispose()
    {
        foreach (var (_, rows, _) in _groups)
        {
            rows.Dispose();
        }
        _padIndex?.Dispose();
        _backIndex?.Dispose();
    }

    /// <summary>
    /// The stacked layout, or null when the stack lacks an adapter of the rows or padding every group to the largest
    /// would more than double the rows.
    /// </summary>
    private static LoraRouting? TryStacked(IReadOnlyList<LoraAdapter?> adapters, int adapterCount, Device device, LoraStack stack)
    {
        int groupCount = stack.Adapters.Count;
        var members = new List<long>[groupCount];
        for (int g = 0; g < groupCount; g++)
        {
            members[g] = [];
        }
        for (int row = 0; row < adapters.Count; row++)
        {
            int g = stack.IndexOf(adapters[row]);
            if (g < 0)
            {
                return null;
            }
            members[g].Add(row);
        }
        long groupRows = members.Max(m => m.Count);
        if (groupCount * groupRows > 2L * adapters.Count)
        {
            return null;
        }

        var pad = new long[groupCount * groupRows];
        var back = new long[adapters.Count];
        for (int g = 0; g < groupCount; g++)
        {
            for (int i = 0; i < groupRows; i++)
            {
                // Padded slots repeat a real row (any will do: their updates are never gathered back).
                long row = members[g].Count == 0 ? 0 : members[g][Math.Min(i, members[g].Count - 1)];
                pad[g * groupRows + i] = row;
                if (i < members[g].Count)
                {
                    back[row] = g * groupRows + i;
                }
            }
        }
        return new LoraRouting(
            stack,
            torch.tensor(pad, ScalarType.Int64, device).DetachFromDisposeScope(),
            torch.tensor(back, ScalarType.Int64, device).DetachFromDisposeScope(),
            groupRows,
            adapterCount,
            [.. adapters]);
    }
}
