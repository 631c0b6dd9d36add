using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Tests.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Lora;

[Collection("Torch")]
public sealed class LoraRoutingTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LoraRouting_EveryRowGetsItsOwnAdaptersUpdate(bool balanced)
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        // Different ranks, scalings and targets: the stack pads ranks and leaves untargeted modules at zero.
        using var first = Randomized(LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4, Seed = 1 }), 1);
        using var second = Randomized(LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 8, Alpha = 8, Seed = 2 }), 2);
        using var third = Randomized(LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 2, Seed = 3, TargetModules = ["q_proj", "lm_head"] }), 3);
        LoraAdapter?[] kinds = [first, second, third, null];
        LoraAdapter?[] rows = balanced
            ? [.. Enumerable.Range(0, 12).Select(i => kinds[i % 4])]
            : [.. Enumerable.Repeat<LoraAdapter?>(first, 11), second, third, null];
        using var stack = new LoraStack([.. rows.Distinct(ReferenceEqualityComparer.Instance).Cast<LoraAdapter?>()]);
        using var routing = LoraRouting.Create(rows, torch.CPU, stack);
        Assert.Equal(balanced, routing.IsStacked);
        Assert.Equal(3, routing.AdapterCount);

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var layer = model.model.layers[0];
        LoraLinear[] modules = [layer.self_attn.q_proj, layer.self_attn.k_proj, layer.mlp.down_proj, model.lm_head];
        foreach (var linear in modules)
        {
            var x = torch.randn([rows.Length, 1, linear.InFeatures], generator: new torch.Generator(5, torch.CPU)); // (N, 1, in)
            var routed = linear.forward(x, null, routing);                                    // (N, 1, out)
            for (int row = 0; row < rows.Length; row++)
            {
                var alone = linear.forward(x.narrow(0, row, 1), rows[row]);                   // (1, 1, out)
                double diff = TinyModels.MaxAbsDiff(routed.narrow(0, row, 1), alone);
                Assert.True(diff < 1e-5, $"{linear.ModulePath} row {row}: max diff {diff}");
            }
        }
    }

    [Fact]
    public void LoraRouting_StackMissingAnAdapterFallsBackToGroups()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var first = Randomized(LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4, Seed = 1 }), 1);
        using var second = Randomized(LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4, Seed = 2 }), 2);
        using var stack = new LoraStack([first, null]);

        using var routing = LoraRouting.Create([first, second, first, second], torch.CPU, stack);

        Assert.False(routing.IsStacked);
        Assert.Equal(2, routing.AdapterCount);
    }

    [Fact]
    public void PackedSegments_PromptsAttendOnlyWithinThemselves()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        int[] lengths = [5, 7, 6];
        using var ids = TinyModels.Tokens(1, lengths.Sum(), 50);                              // (1, ΣT)
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Assert.True(PackedSegments.IsCheaper(lengths));
        var positions = torch.tensor(lengths.SelectMany(l => Enumerable.Range(0, l).Select(p => (long)p)).ToArray(), [1, lengths.Sum()]);
        using var cache = model.CreateCache(1);
        using var routing = LoraRouting.Create([.. Enumerable.Repeat<LoraAdapter?>(null, lengths.Sum())], torch.CPU);

        var packed = model.model.ForwardRows(ids, positions, null, cache, routing, PackedSegments.Create(lengths, torch.CPU)); // (1, ΣT, C)

        long start = 0;
        foreach (int length in lengths)
        {
            var alone = model.model.forward(ids.narrow(1, start, length), null, null, null);  // (1, T, C)
            double diff = TinyModels.MaxAbsDiff(packed.narrow(1, start, length), alone);
            Assert.True(diff < 1e-5, $"prompt at {start}: max diff {diff}");
            start += length;
        }
    }

    private static LoraAdapter Randomized(LoraAdapter adapter, long seed)
    {
        using var generator = new torch.Generator((ulong)seed, torch.CPU);
        using var noGrad = torch.no_grad();
        foreach (var parameter in adapter.Parameters())
        {
            parameter.normal_(0, 0.1, generator);
        }
        return adapter;
    }
}
