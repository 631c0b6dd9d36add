using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Tests.Model;
using TinkerFlow.Local.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Lora;

[Collection("Torch")]
public sealed class LoraAdapterTests
{
    [Fact]
    public void LoraLinear_ZeroInitMatchesBase()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var adapter = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4, Seed = 3 });
        using var ids = TinyModels.Tokens(2, 6, 50);

        using var baseLogits = model.forward(ids);
        using var adapted = model.forward(ids, null, adapter: adapter);

        // The base pass needs no gradient, so its few-row products run on FewRowKernel; the adapted one records
        // autograd and runs on libtorch. The two sum in different orders: equal up to float32 rounding.
        Assert.True(TinyModels.MaxAbsDiff(baseLogits, adapted) < 1e-5);
    }

    [Fact]
    public void LoraAdapter_KeysUsePeftNamesAndShapes()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var adapter = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4, TargetModules = ["q_proj", "down_proj", "lm_head"] });

        var tensors = adapter.Tensors;

        Assert.Equal(2 * 5, tensors.Count);   // q_proj and down_proj in 2 layers, plus lm_head; A and B each
        Assert.Equal([4L, 32], tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"].shape);
        Assert.Equal([32L, 4], tensors["base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"].shape);
        Assert.Equal([50L, 4], tensors["base_model.model.lm_head.lora_B.weight"].shape);
        Assert.Equal(8.0, adapter.Scaling);   // alpha 32 / rank 4
        Assert.All(adapter.Parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void LoraAdapter_CloneCopiesValuesAndStaysIndependent()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var adapter = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4, Seed = 3 });
        using (no_grad())
        {
            foreach (var p in adapter.Parameters())
            {
                p.add_(0.5);
            }
        }

        using var clone = adapter.Clone();
        var before = clone.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using (no_grad())
        {
            foreach (var p in adapter.Parameters())
            {
                p.add_(1.0);
            }
        }

        Assert.Equal(adapter.Options, clone.Options);
        Assert.Equal(adapter.Tensors.Keys.Order(), clone.Tensors.Keys.Order());
        Assert.All(clone.Tensors, kv => Assert.True(kv.Value.equal(before[kv.Key]).all().item<bool>(), kv.Key));
        Assert.All(clone.Tensors, kv => Assert.False(kv.Value.equal(adapter.Tensors[kv.Key]).all().item<bool>(), kv.Key));
    }

    [Fact]
    public void LoraAdapter_SameSeedSameInit()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var a = LoraAdapter.Create(model, new LoraAdapterOptions { Seed = 42 });
        using var b = LoraAdapter.Create(model, new LoraAdapterOptions { Seed = 42 });
        using var c = LoraAdapter.Create(model, new LoraAdapterOptions { Seed = 43 });
        const string key = "base_model.model.model.layers.1.mlp.up_proj.lora_A.weight";

        Assert.Equal(0.0, TinyModels.MaxAbsDiff(a.Tensors[key], b.Tensors[key]));
        Assert.True(TinyModels.MaxAbsDiff(a.Tensors[key], c.Tensors[key]) > 1e-3);
        double bound = 1 / Math.Sqrt(32);   // up_proj: in_features = hidden_size
        Assert.True(a.Tensors[key].abs().max().item<float>() <= bound);
    }

    [Fact]
    public void LoraAdapter_AdaptersShareOneFrozenBase()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var first = LoraAdapter.Create(model, new LoraAdapterOptions { Seed = 1 });
        using var second = LoraAdapter.Create(model, new LoraAdapterOptions { Seed = 2 });
        Randomize(first, 1);
        using var ids = TinyModels.Tokens(1, 5, 50);

        using var baseLogits = model.forward(ids);
        using var firstLogits = model.forward(ids, null, adapter: first);
        using var secondLogits = model.forward(ids, null, adapter: second);

        Assert.True(TinyModels.MaxAbsDiff(baseLogits, firstLogits) > 1e-3);
        Assert.True(TinyModels.MaxAbsDiff(baseLogits, secondLogits) < 1e-5);   // float32 rounding: see LoraLinear_ZeroInitMatchesBase

        // Gradients reach only the adapter.
        firstLogits.sum().backward();
        Assert.All(first.Parameters(), p => Assert.NotNull(p.grad));
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoraAdapter_MergedWeightsMatchAdapterForward(bool tied)
    {
        var config = TinyModels.Qwen3(tied: tied);
        using var model = TinyModels.Build(config);
        using var adapter = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4 });
        Randomize(adapter, 7);
        using var ids = TinyModels.Tokens(2, 6, 50);
        using var scope = torch.NewDisposeScope();
        var expected = model.forward(ids, null, adapter: adapter);

        var stateDict = model.state_dict();
        bool untied = adapter.MergeInto(stateDict);
        using var merged = new CausalLm(config with { TieWordEmbeddings = tied && !untied });
        var mergedKeys = merged.state_dict();
        Assert.Equal(mergedKeys.Keys.Order(), stateDict.Keys.Order());
        using (torch.no_grad())
        {
            foreach (var (key, target) in mergedKeys)
            {
                target.copy_(stateDict[key]);
            }
        }
        var actual = merged.forward(ids);

        Assert.Equal(tied, untied);
        Assert.True(TinyModels.MaxAbsDiff(expected, actual) < 1e-5, $"max diff {TinyModels.MaxAbsDiff(expected, actual)}");
        // The live base was not modified by the merge.
        var baseAgain = model.forward(ids);
        Assert.True(TinyModels.MaxAbsDiff(baseAgain, expected) > 1e-3);
    }

    [Fact]
    public void LoraAdapter_SaveLoadRoundTrip()
    {
        using var model = TinyModels.Build(TinyModels.Llama());
        using var adapter = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 2, Alpha = 16, TargetModules = LoraAdapterOptions.Targets(true, false, true) });
        Randomize(adapter, 9);
        string directory = Path.Combine(Path.GetTempPath(), "tf-lora-" + Guid.NewGuid().ToString("N"));
        try
        {
            adapter.Save(directory, "tiny-llama");
            using var loaded = LoraAdapter.Load(directory, model);
            using var ids = TinyModels.Tokens(1, 5, 50);

            using var expected = model.forward(ids, null, adapter: adapter);
            using var actual = model.forward(ids, null, adapter: loaded);

            Assert.Equal(16.0, loaded.Options.Alpha);
            Assert.Equal(adapter.Tensors.Keys.Order(), loaded.Tensors.Keys.Order());
            Assert.Equal(0.0, TinyModels.MaxAbsDiff(expected, actual));
            Assert.Contains("\"lora_alpha\": 16", File.ReadAllText(Path.Combine(directory, LoraAdapter.ConfigFileName)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void Randomize(LoraAdapter adapter, long seed)
    {
        using var generator = new torch.Generator((ulong)seed, torch.CPU);
        using var noGrad = torch.no_grad();
        foreach (var parameter in adapter.Parameters())
        {
            parameter.normal_(0, 0.1, generator);
        }
    }
}
