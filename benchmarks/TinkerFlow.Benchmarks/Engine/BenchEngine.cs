using TinkerFlow.Local.BuiltinModels;
using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TinkerFlow.Types;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>
/// A frozen, deterministically initialised base model plus one LoRA training client on it, wired exactly as
/// <c>LocalBackend</c> wires them (a <see cref="TrainingModel"/> whose optimizer covers the adapter), without the
/// REST, store and queue layers.
/// </summary>
internal sealed class BenchEngine : IDisposable
{
    private BenchEngine(BenchSizes sizes, CausalLm model, BaseModel baseModel, TrainingModel training)
    {
        Sizes = sizes;
        Model = model;
        Base = baseModel;
        Training = training;
    }

    /// <summary>The sizes it was built for.</summary>
    public BenchSizes Sizes { get; }

    /// <summary>The frozen base model (eval mode, requires_grad false).</summary>
    public CausalLm Model { get; }

    /// <summary>The base model as the engine holds it (the tokenizer is the built-in one; benchmarks never use it).</summary>
    public BaseModel Base { get; }

    /// <summary>The LoRA training client: adapter + AdamW.</summary>
    public TrainingModel Training { get; }

    /// <summary>The training client's adapter.</summary>
    public LoraAdapter Adapter => Training.Adapter;

    /// <summary>Builds the model (seeded init), freezes it, and creates a LoRA adapter on attention and MLP.</summary>
    public static BenchEngine Create(BenchSizes sizes, long seed = 20260101)
    {
        NativeSetup.EnsureInitialized();
        var model = new CausalLm(sizes.Model);
        try
        {
            model.InitializeWeights(seed);
            model.SetTrainable(false);
            model.eval();
            if (!BuiltinModelCatalog.TryGet(BuiltinModelCatalog.TinyQwen3, out var assets))
            {
                throw new InvalidOperationException($"the built-in model {BuiltinModelCatalog.TinyQwen3} is missing from TinkerFlow.Local.");
            }

            var baseModel = new BaseModel("bench/qwen3", model, new HuggingFaceTokenizer(assets.Name, assets.Tokenizer), "benchmark init");
            var adapter = LoraAdapter.Create(model, new LoraAdapterOptions
            {
                Rank = sizes.LoraRank,
                Alpha = 2 * sizes.LoraRank,
                TargetModules = LoraAdapterOptions.Targets(trainAttn: true, trainMlp: true, trainUnembed: false),
                Seed = seed,
            });
            var loraConfig = new LoraConfig { Rank = sizes.LoraRank, TrainAttn = true, TrainMlp = true, TrainUnembed = false };
            var training = new TrainingModel("bench-model", "bench", "bench-session", baseModel, loraConfig, adapter, TimeSpan.FromSeconds(1));
            return new BenchEngine(sizes, model, baseModel, training);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Disposes the training client (adapter, optimizer, executor thread) and the model.</summary>
    public void Dispose()
    {
        Training.Dispose();
        Base.Dispose();
    }
}
