using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Storage;
using TinkerFlow.Local.Training;
using TinkerFlow.Local.Weights;
using TinkerFlow.Types;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Engine;

/// <summary>
/// Reading and writing checkpoints. A training checkpoint (<c>weights/&lt;name&gt;</c>) holds the adapter in PEFT layout
/// plus <c>optimizer.safetensors</c> (AdamW moments and step); a sampler checkpoint (<c>sampler_weights/&lt;name&gt;</c>)
/// holds only the PEFT adapter, loadable by Hugging Face PEFT and vLLM. Both are written through
/// <see cref="PendingCheckpoint"/>, so they appear whole or not at all.
/// </summary>
internal static class CheckpointIo
{
    public const string OptimizerFileName = "optimizer.safetensors";

    public static Checkpoint SaveTrainingState(RunStore store, TrainingModel model, string name, bool overwrite, long? ttlSeconds)
    {
        using var pending = store.BeginCheckpoint(model.ModelId, CheckpointType.Training, name, overwrite, ttlSeconds);
        using (var scope = NewDisposeScope())
        {
            model.Adapter.Save(pending.Directory, model.Base.Name);
            var state = model.Optimizer.ExportState();
            SafeTensorsWriter.Save(
                Path.Combine(pending.Directory, OptimizerFileName),
                state,
                new Dictionary<string, string> { ["format"] = "tinkerflow-adamw", ["base_model"] = model.Base.Name });
        }

        return pending.Commit();
    }

    public static Checkpoint SaveSamplerWeights(RunStore store, TrainingModel model, string name, long? ttlSeconds)
    {
        using var pending = store.BeginCheckpoint(model.ModelId, CheckpointType.Sampler, name, overwrite: true, ttlSeconds);
        model.Adapter.Save(pending.Directory, model.Base.Name);
        return pending.Commit();
    }

    /// <summary>
    /// Loads a training checkpoint into a live model. Everything is read and checked first; only then are the
    /// adapter weights (and, with <paramref name="withOptimizer"/>, the AdamW state) replaced. Accumulated gradients
    /// are cleared; without optimizer state the optimizer starts fresh.
    /// </summary>
    public static LoadWeightsResponse LoadTrainingState(RunStore store, TrainingModel model, string tinkerPath, bool withOptimizer, string owner)
    {
        var (checkpoint, dir, run) = store.ResolveTinkerPath(tinkerPath, owner);
        if (!string.Equals(run.BaseModel, model.Base.Name, StringComparison.OrdinalIgnoreCase))
        {
            throw new TinkerUserInputException($"Checkpoint '{tinkerPath}' was trained on base model '{run.BaseModel}', but this training client adapts '{model.Base.Name}'.");
        }

        using var loaded = LoadAdapterFrom(dir, model.Base, tinkerPath);
        var live = model.Adapter.Tensors;
        var incoming = loaded.Tensors;
        var missing = live.Keys.Except(incoming.Keys).ToList();
        var extra = incoming.Keys.Except(live.Keys).ToList();
        if (missing.Count > 0 || extra.Count > 0)
        {
            throw new TinkerUserInputException(
                $"Checkpoint '{tinkerPath}' does not fit this training client's LoRA settings (rank {model.LoraConfig.Rank}, train_attn={model.LoraConfig.TrainAttn}, train_mlp={model.LoraConfig.TrainMlp}, train_unembed={model.LoraConfig.TrainUnembed}): " +
                $"{missing.Count} tensors missing, {extra.Count} unexpected (e.g. '{missing.Concat(extra).First()}'). Use ServiceClient.CreateTrainingClientFromStateAsync to get a client with matching settings.");
        }

        foreach (var (key, value) in incoming)
        {
            if (!value.shape.SequenceEqual(live[key].shape))
            {
                throw new TinkerUserInputException($"Checkpoint '{tinkerPath}': tensor '{key}' has shape [{string.Join(", ", value.shape)}] but this client expects [{string.Join(", ", live[key].shape)}] (different LoRA rank?).");
            }
        }

        Dictionary<string, Tensor>? optimizerState = null;
        try
        {
            if (withOptimizer)
            {
                var optimizerPath = Path.Combine(dir, OptimizerFileName);
                if (checkpoint.CheckpointType != CheckpointType.Training || !File.Exists(optimizerPath))
                {
                    throw new TinkerUserInputException($"Checkpoint '{tinkerPath}' has no optimizer state ({OptimizerFileName}); load it with LoadStateAsync, or save state with SaveStateAsync.");
                }

                optimizerState = SafeTensorsReader.Load(optimizerPath);
                using var probe = new AdamW(live.Select(kv => (kv.Key, (Tensor)kv.Value)));
                probe.ImportState(optimizerState);
            }

            using (no_grad())
            {
                foreach (var (key, value) in incoming)
                {
                    live[key].copy_(value);
                }
            }

            model.Optimizer.ZeroGrad();
            if (optimizerState is not null)
            {
                model.Optimizer.ImportState(optimizerState);
            }
            else
            {
                model.ResetOptimizer();
            }
        }
        finally
        {
            if (optimizerState is not null)
            {
                foreach (var t in optimizerState.Values)
                {
                    t.Dispose();
                }
            }
        }

        return new LoadWeightsResponse { Path = tinkerPath, ModelId = model.ModelId };
    }

    public static LoraAdapter LoadAdapterFrom(string directory, BaseModel baseModel, string tinkerPath)
    {
        try
        {
            return LoraAdapter.Load(directory, baseModel.Model);
        }
        catch (FileNotFoundException ex)
        {
            throw new TinkerUserInputException($"Checkpoint '{tinkerPath}' is incomplete: {ex.Message}");
        }
    }

    public static bool ExportPeft(LocalBackend backend, string tinkerPath, string directory)
    {
        var (_, dir, _) = backend.Store.ResolveTinkerPath(tinkerPath, backend.Options.Owner);
        Directory.CreateDirectory(directory);
        foreach (var file in new[] { LoraAdapter.WeightsFileName, LoraAdapter.ConfigFileName })
        {
            File.Copy(Path.Combine(dir, file), Path.Combine(directory, file), overwrite: true);
        }

        return true;
    }

    public static bool ExportMerged(LocalBackend backend, string tinkerPath, string directory)
    {
        var (_, dir, run) = backend.Store.ResolveTinkerPath(tinkerPath, backend.Options.Owner);
        var baseModel = backend.Models.Get(run.BaseModel);
        using var scope = NewDisposeScope();
        using var adapter = LoadAdapterFrom(dir, baseModel, tinkerPath);
        var stateDict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, value) in baseModel.Model.state_dict())
        {
            stateDict[key] = value.detach().clone();
        }

        adapter.MergeInto(stateDict);
        HfModelWriter.Save(stateDict, baseModel.Config, directory);
        foreach (var (name, bytes) in TokenizerFiles(baseModel))
        {
            File.WriteAllBytes(Path.Combine(directory, name), bytes);
        }

        return true;
    }

    private static IEnumerable<(string Name, byte[] Bytes)> TokenizerFiles(BaseModel baseModel)
    {
        if (BuiltinModels.BuiltinModelCatalog.TryGet(baseModel.Name, out var assets))
        {
            foreach (var name in assets.FileNames.Where(f => f.StartsWith("tokenizer", StringComparison.Ordinal)))
            {
                yield return (name, assets.ReadFile(name));
            }

            yield break;
        }

        foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            var path = Path.Combine(baseModel.Source, name);
            if (File.Exists(path))
            {
                yield return (name, File.ReadAllBytes(path));
            }
        }
    }
}
