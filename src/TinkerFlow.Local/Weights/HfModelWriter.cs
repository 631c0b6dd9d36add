using TinkerFlow.Local.Model;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Weights;

/// <summary>Saves a <see cref="CausalLm"/> (or a state dict, e.g. one with a LoRA merged in) as a Hugging Face model folder.</summary>
internal static class HfModelWriter
{
    /// <summary>Writes <c>config.json</c> and the model's float32 weights into <paramref name="directory"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="directory">Destination folder (created if needed).</param>
    /// <param name="maxShardBytes">Null for a single <c>model.safetensors</c>; otherwise shards of at most this size plus an index.</param>
    public static void Save(CausalLm model, string directory, long? maxShardBytes = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Save(model.state_dict(), model.Config, directory, maxShardBytes);
    }

    /// <summary>
    /// Writes <paramref name="config"/> as <c>config.json</c> and <paramref name="stateDict"/> as safetensors. With tied
    /// embeddings the dict must not hold <c>lm_head.weight</c>; after an untying merge pass a config with
    /// <see cref="TransformerConfig.TieWordEmbeddings"/> false.
    /// </summary>
    public static void Save(IReadOnlyDictionary<string, Tensor> stateDict, TransformerConfig config, string directory, long? maxShardBytes = null)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(config);
        Directory.CreateDirectory(directory);
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        if (maxShardBytes is { } limit)
        {
            SafeTensorsIndex.Save(directory, stateDict, limit, metadata);
        }
        else
        {
            SafeTensorsWriter.Save(Path.Combine(directory, HfModelLoader.SingleFileName), stateDict, metadata);
        }
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJson());
    }
}
