using TinkerFlow.Local.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Weights;

/// <summary>
/// Loads a Hugging Face model folder (<c>config.json</c> + <c>model.safetensors</c>, or shards listed in
/// <c>model.safetensors.index.json</c>) into a <see cref="CausalLm"/>, converting f16/bf16 weights to float32.
/// </summary>
internal static class HfModelLoader
{
    /// <summary>The single-file checkpoint name.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>
    /// Builds the model described by <c>{directory}/config.json</c> and loads its weights.
    /// </summary>
    /// <param name="directory">The model folder.</param>
    /// <param name="trainable">False (default) freezes every base parameter, as a shared LoRA base should be.</param>
    /// <exception cref="FileNotFoundException">config.json or the weights are missing.</exception>
    /// <exception cref="InvalidDataException">The config or a weights file is malformed, or keys/shapes do not match the model.</exception>
    public static CausalLm Load(string directory, bool trainable = false)
    {
        var config = TransformerConfig.Load(Path.Combine(directory, "config.json"));
        var model = new CausalLm(config);
        try
        {
            LoadWeights(model, directory);
            model.SetTrainable(trainable);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies the checkpoint in <paramref name="directory"/> into <paramref name="model"/>'s parameters in place, one tensor
    /// at a time. Every model key must be present with the right shape and no checkpoint key may be left over
    /// (a tied model may ignore <c>lm_head.weight</c>).
    /// </summary>
    public static void LoadWeights(CausalLm model, string directory)
    {
        var files = ResolveFiles(directory);
        var readers = files.Values.Distinct().ToDictionary(f => f, f => new SafeTensorsReader(f));
        try
        {
            var expected = model.state_dict();
            var ignorable = model.Config.TieWordEmbeddings ? new HashSet<string> { "lm_head.weight" } : [];
            var missing = expected.Keys.Where(k => !files.ContainsKey(k)).ToList();
            var unexpected = files.Keys.Where(k => !expected.ContainsKey(k) && !ignorable.Contains(k) && !k.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
            {
                throw new InvalidDataException($"{directory}: the checkpoint does not match the {model.Config.ModelType} config. "
                    + $"Missing keys ({missing.Count}): [{Abbreviate(missing)}]. Unexpected keys ({unexpected.Count}): [{Abbreviate(unexpected)}]. "
                    + "Check that config.json belongs to these weights.");
            }

            using var noGrad = torch.no_grad();
            foreach (var (key, target) in expected)
            {
                var reader = readers[files[key]];
                var info = reader.Entries[key];
                if (!info.Shape.SequenceEqual(target.shape))
                {
                    throw new InvalidDataException($"{reader.Path}: '{key}' has shape [{string.Join(", ", info.Shape)}] "
                        + $"but the config needs [{string.Join(", ", target.shape)}].");
                }
                using var scope = torch.NewDisposeScope();
                target.copy_(reader.ReadTensor(key).to(target.dtype));
            }
        }
        finally
        {
            foreach (var reader in readers.Values)
            {
                reader.Dispose();
            }
        }
    }

    /// <summary>Maps every tensor name of the checkpoint in <paramref name="directory"/> to the file holding it.</summary>
    /// <exception cref="FileNotFoundException">Neither model.safetensors nor an index exists.</exception>
    public static IReadOnlyDictionary<string, string> ResolveFiles(string directory)
    {
        string single = Path.Combine(directory, SingleFileName);
        string index = Path.Combine(directory, SafeTensorsIndex.IndexFileName);
        if (File.Exists(single))
        {
            using var reader = new SafeTensorsReader(single);
            return reader.Entries.Keys.ToDictionary(k => k, _ => single, StringComparer.Ordinal);
        }
        if (File.Exists(index))
        {
            return SafeTensorsIndex.ReadWeightMap(index).ToDictionary(kv => kv.Key, kv => Path.Combine(directory, kv.Value), StringComparer.Ordinal);
        }
        throw new FileNotFoundException(
            $"no weights in {directory}: expected {SingleFileName} or {SafeTensorsIndex.IndexFileName} (HfModelWriter.Save writes them).", single);
    }

    private static string Abbreviate(List<string> keys) =>
        keys.Count <= 12 ? string.Join(", ", keys) : string.Join(", ", keys.Take(12)) + $", … {keys.Count - 12} more";
}
