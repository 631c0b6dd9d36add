using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Model;

/// <summary>
/// The managed decode step (<see cref="DecodeStep"/>) against the layers' libtorch forward it replaces
/// (<see cref="TransformerModel.ManagedDecode"/> off): same logits within float32 rounding, on both caches, with masks,
/// adapters and biases, and a row's numbers independent of the rows beside it.
/// </summary>
[Collection("Torch")]
public sealed class DecodeStepTests
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData("qwen3", true)]
    [InlineData("qwen3", false)]
    [InlineData("llama", true)]
    public void DecodeStep_OnTheKvCache_MatchesTheLibtorchLayers(string family, bool noGrad)
    {
        using var model = TinyModels.Build(family == "qwen3" ? TinyModels.Qwen3() : TinyModels.Llama());
        using var grad = noGrad ? torch.no_grad() : null;
        var (managed, reference, steps) = DecodeBothWays(model, null, rows: 2, prompt: 5, decode: 6);

        Assert.Equal(6, steps);
        Assert.True(managed.Count == reference.Count);
        for (int i = 0; i < managed.Count; i++)
        {
            double diff = TinyModels.MaxAbsDiff(managed[i], reference[i]);
            Assert.True(diff < Tolerance, $"step {i}: max |managed - libtorch| = {diff}");
        }
        DisposeAll(managed, reference);
    }

    [Fact]
    public void DecodeStep_WithAnAdapter_MatchesTheLibtorchLayers()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var adapter = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4, Alpha = 8, Seed = 3 });
        RandomizeB(model, adapter);
        using var noGrad = torch.no_grad();
        var (managed, reference, steps) = DecodeBothWays(model, adapter, rows: 1, prompt: 4, decode: 5);

        Assert.Equal(5, steps);
        var (plain, plainReference, _) = DecodeBothWays(model, null, rows: 1, prompt: 4, decode: 5);
        Assert.True(TinyModels.MaxAbsDiff(plain[0], managed[0]) > 1e-3, "the adapter changes the logits, so the comparison covers its update");
        DisposeAll(plain, plainReference);
        for (int i = 0; i < managed.Count; i++)
        {
            Assert.True(TinyModels.MaxAbsDiff(managed[i], reference[i]) < Tolerance, $"step {i}");
        }
        DisposeAll(managed, reference);
    }

    [Fact]
    public void DecodeStep_WithBiases_MatchesTheLibtorchLayers()
    {
        using var model = TinyModels.Build(TinyModels.Llama() with { AttentionBias = true, MlpBias = true });
        using (torch.no_grad())
        using (var generator = new torch.Generator(5, torch.CPU))
        {
            foreach (var (name, parameter) in model.named_parameters().Where(p => p.name.EndsWith(".bias", StringComparison.Ordinal)))
            {
                parameter.normal_(0, 0.1, generator);
            }
        }
        var (managed, reference, steps) = DecodeBothWays(model, null, rows: 2, prompt: 3, decode: 4);

        Assert.Equal(4, steps);
        for (int i = 0; i < managed.Count; i++)
        {
            Assert.True(TinyModels.MaxAbsDiff(managed[i], reference[i]) < Tolerance, $"step {i}");
        }
        DisposeAll(managed, reference);
    }

    [Fact]
    public void DecodeStep_AfterAPaddedPrompt_MasksThePaddingAsTheLibtorchLayersDo()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var noGrad = torch.no_grad();
        using var ids = TinyModels.Tokens(3, 5, 50, salt: 2);
        using var attention = torch.tensor(new long[] { 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, [3, 5]);
        var outputs = new List<Tensor>[2];
        long before = model.model.ManagedDecodeSteps;
        foreach (bool managed in new[] { true, false })
        {
            model.model.ManagedDecode = managed;
            using var cache = model.CreateCache(3);
            using var prefill = model.forward(ids, attention, cache);
            var list = new List<Tensor>();
            for (int t = 0; t < 4; t++)
            {
                using var next = TinyModels.Tokens(3, 1, 50, salt: 10 + t);
                list.Add(model.forward(next, null, cache));
            }
            Assert.False(cache.AllValid);
            outputs[managed ? 0 : 1] = list;
        }
        model.model.ManagedDecode = true;

        Assert.Equal(4, model.model.ManagedDecodeSteps - before);
        for (int t = 0; t < 4; t++)
        {
            Assert.True(TinyModels.MaxAbsDiff(outputs[0][t], outputs[1][t]) < Tolerance, $"step {t}");
        }
        DisposeAll(outputs[0], outputs[1]);
    }

    [Fact]
    public void DecodeStep_OnTheSlotCache_MatchesTheLibtorchLayers_AndARowIsTheSameAloneOrBatched()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var noGrad = torch.no_grad();
        int[][] prompts = [[3, 9, 27, 4], [8, 1], [40, 41, 42, 43, 44, 45]];

        var managedBatch = DecodeSlots(model, prompts, managed: true);
        var libtorchBatch = DecodeSlots(model, prompts, managed: false);
        var managedAlone = DecodeSlots(model, [prompts[0]], managed: true);

        for (int t = 0; t < managedBatch.Count; t++)
        {
            Assert.True(TinyModels.MaxAbsDiff(managedBatch[t], libtorchBatch[t]) < Tolerance, $"step {t}");
            using var batchedRow = managedBatch[t].narrow(0, 0, 1);
            Assert.True(TinyModels.MaxAbsDiff(batchedRow, managedAlone[t]) == 0, $"step {t}: row 0 batched differs from row 0 alone");
        }
        DisposeAll(managedBatch, libtorchBatch);
        DisposeAll(managedAlone, []);
    }

    [Fact]
    public void DecodeStep_WhileTheAdapterNeedsGradients_LeavesTheStepToAutograd()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var adapter = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4, Seed = 3 });
        using var ids = TinyModels.Tokens(1, 4, 50);
        using var cache = model.CreateCache(1);
        using var prefill = model.forward(ids, null, cache, adapter);
        long before = model.model.ManagedDecodeSteps;

        using var step = model.forward(ids.narrow(1, 0, 1), null, cache, adapter);

        Assert.Equal(before, model.model.ManagedDecodeSteps);
        Assert.True(step.requires_grad, "the step was recorded for the adapter's gradients");
    }

    /// <summary>
    /// Prefills <paramref name="prompt"/> tokens in <paramref name="rows"/> rows and decodes <paramref name="decode"/> more,
    /// once with the managed step and once through the layers; returns both logits per step and how many steps the
    /// managed run took in <see cref="DecodeStep"/>.
    /// </summary>
    private static (List<Tensor> Managed, List<Tensor> Reference, long Steps) DecodeBothWays(CausalLm model, LoraAdapter? adapter, int rows, int prompt, int decode)
    {
        var results = new List<Tensor>[2];
        long steps = 0;
        foreach (bool managed in new[] { true, false })
        {
            model.model.ManagedDecode = managed;
            long before = model.model.ManagedDecodeSteps;
            using var cache = model.CreateCache(rows);
            using var ids = TinyModels.Tokens(rows, prompt + decode, 50, salt: 4);
            using (var prefill = model.forward(ids.narrow(1, 0, prompt), null, cache, adapter))
            {
            }
            var list = new List<Tensor>();
            for (int t = prompt; t < prompt + decode; t++)
            {
                using var next = ids.narrow(1, t, 1);
                list.Add(model.forward(next, null, cache, adapter).detach());
            }
            results[managed ? 0 : 1] = list;
            if (managed)
            {
                steps = model.model.ManagedDecodeSteps - before;
            }
        }
        model.model.ManagedDecode = true;
        return (results[0], results[1], steps);
    }

    [Fact]
    public void DecodeStep_WithAnAdapterPerRow_MatchesTheLibtorchRouting_AndARowIsTheSameAloneOrBatched()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        // The decoder layers' projections only: lm_head's per-row updates are libtorch's (LoraRouting.AddDeltas), whose
        // sums for a row alone and in a group differ in the last bits.
        using var first = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4, Alpha = 8, Seed = 3, TargetModules = LoraAdapterOptions.Targets(true, true, false) });
        using var second = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 8, Alpha = 8, Seed = 4, TargetModules = ["q_proj", "v_proj", "down_proj"] });
        RandomizeB(model, first);
        RandomizeB(model, second);
        using var noGrad = torch.no_grad();
        int[][] prompts = [[3, 9, 27, 4], [8, 1], [40, 41, 42, 43, 44, 45], [7, 7, 7]];
        LoraAdapter?[] adapters = [first, null, second, first];

        var managedBatch = DecodeSlots(model, prompts, managed: true, adapters);
        var libtorchBatch = DecodeSlots(model, prompts, managed: false, adapters);
        var aloneFirst = DecodeSlots(model, [prompts[0]], managed: true, [first]);
        var aloneSecond = DecodeSlots(model, [prompts[2]], managed: true, [second]);
        var baseRows = DecodeSlots(model, prompts, managed: true, new LoraAdapter?[prompts.Length]);

        for (int t = 0; t < managedBatch.Count; t++)
        {
            Assert.True(TinyModels.MaxAbsDiff(managedBatch[t], libtorchBatch[t]) < Tolerance, $"step {t}");
            using var row0 = managedBatch[t].narrow(0, 0, 1);
            using var row2 = managedBatch[t].narrow(0, 2, 1);
            Assert.True(TinyModels.MaxAbsDiff(row0, aloneFirst[t]) == 0, $"step {t}: row 0 batched differs from row 0 alone");
            Assert.True(TinyModels.MaxAbsDiff(row2, aloneSecond[t]) == 0, $"step {t}: row 2 batched differs from row 2 alone by {TinyModels.MaxAbsDiff(row2, aloneSecond[t])}");
        }
        using (var adapted = managedBatch[0].narrow(0, 2, 1))
        using (var plain = baseRows[0].narrow(0, 2, 1))
        {
            Assert.True(TinyModels.MaxAbsDiff(adapted, plain) > 1e-3, "the second adapter changes its row");
        }
        foreach (var list in new[] { managedBatch, libtorchBatch, aloneFirst, aloneSecond, baseRows })
        {
            DisposeAll(list, []);
        }
    }

    /// <summary>Each prompt prefilled alone, its cache copied into a slot, then 4 decode steps of every row together: logits per step. [R, V]</summary>
    private static List<Tensor> DecodeSlots(CausalLm model, int[][] prompts, bool managed, LoraAdapter?[]? adapters = null)
    {
        model.model.ManagedDecode = managed;
        long before = model.model.ManagedDecodeSteps;
        using var slots = new SlotKvCache(model.Config, ScalarType.Float32, torch.CPU);
        slots.Reserve(prompts.Length, prompts.Max(p => p.Length) + 8);
        var last = new long[prompts.Length];
        for (int i = 0; i < prompts.Length; i++)
        {
            using var promptCache = model.CreateCache(1);
            using var ids = torch.tensor(prompts[i].Select(t => (long)t).ToArray(), [1, prompts[i].Length]);
            using var logits = model.forward(ids, null, promptCache);
            slots.AddRows(promptCache, 0, prompts[i].Length, 1);
            last[i] = prompts[i][^1];
        }

        using var routing = LoraRouting.Create(adapters ?? new LoraAdapter?[prompts.Length], torch.CPU);
        var outputs = new List<Tensor>();
        for (int t = 0; t < 4; t++)
        {
            using var scope = torch.NewDisposeScope();
            var ids = torch.tensor(last.Select(token => (token + (7 * t)) % 50).ToArray(), [prompts.Length, 1]);
            var (positions, mask) = slots.BeginStep();
            var hidden = model.model.ForwardRows(ids, positions.unsqueeze(1), mask, slots, routing);   // (R, 1, C)
            slots.EndStep();
            outputs.Add(model.lm_head.forward(hidden, null, routing).view(prompts.Length, -1).MoveToOuterDisposeScope()); // (R, V)
        }
        Assert.Equal(managed ? 4 : 0, model.model.ManagedDecodeSteps - before);
        model.model.ManagedDecode = true;
        return outputs;
    }

    private static void RandomizeB(CausalLm model, LoraAdapter adapter)
    {
        using var noGrad = torch.no_grad();
        using var generator = new torch.Generator(11, torch.CPU);
        foreach (var (path, _) in model.LoraTargets)
        {
            if (adapter.TryGetWeights(path, out _, out var b))
            {
                b.normal_(0, 0.2, generator);
            }
        }
    }

    private static void DisposeAll(List<Tensor> a, List<Tensor> b)
    {
        foreach (var t in a.Concat(b))
        {
            t.Dispose();
        }
    }
}
