using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Weights;

/// <summary>
/// Sharded checkpoints: <c>model.safetensors.index.json</c> (<c>{"metadata": {"total_size": N}, "weight_map": {name: shard}}</c>)
/// next to <c>model-00001-of-0000N.safetensors</c> shards.
/// </summary>
internal static class SafeTensorsIndex
{
    /// <summary>The conventional index file name.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>Reads the weight map (tensor name → shard file name) of an index file.</summary>
    /// <exception cref="InvalidDataException">The index is not valid JSON or has no <c>weight_map</c>.</exception>
    public static IReadOnlyDictionary<string, string> ReadWeightMap(string indexPath)
    {
        if (!File.Exists(indexPath))
        {
            throw new FileNotFoundException($"safetensors index not found: {indexPath}", indexPath);
        }
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(indexPath)) as JsonObject;
            if (root?["weight_map"] is not JsonObject map)
            {
                throw new InvalidDataException($"{indexPath}: invalid safetensors index: no \"weight_map\" object.");
            }
            return map.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>()
                ?? throw new InvalidDataException($"{indexPath}: invalid safetensors index: '{kv.Key}' maps to null."), StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{indexPath}: invalid safetensors index: {e.Message}", e);
        }
    }

    /// <summary>
    /// Loads every tensor listed in the index, checking that each shard really holds the tensors the index assigns to it.
    /// The caller owns the tensors.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        string directory = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var shard in weightMap.GroupBy(kv => kv.Value, kv => kv.Key))
        {
            using var reader = new SafeTensorsReader(Path.Combine(directory, shard.Key));
            foreach (string name in shard)
            {
                if (!reader.Entries.ContainsKey(name))
                {
                    throw new InvalidDataException($"{indexPath}: index maps '{name}' to {shard.Key}, but that shard has no such tensor.");
                }
                result[name] = reader.ReadTensor(name);
            }
        }
        return result;
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> into <paramref name="directory"/> as shards of at most <paramref name="maxShardBytes"/>
    /// (a single larger tensor gets a shard of its own) plus the index file. Returns the index path.
    /// </summary>
    public static string Save(string directory, IReadOnlyDictionary<string, Tensor> tensors, long maxShardBytes, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        Directory.CreateDirectory(directory);

        var shards = new List<List<string>>();
        long current = 0;
        long total = 0;
        foreach (var name in tensors.Keys.Order(StringComparer.Ordinal))
        {
            long bytes = tensors[name].NumberOfElements * tensors[name].ElementSize;
            if (shards.Count == 0 || (current + bytes > maxShardBytes && current > 0))
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(name);
            current += bytes;
            total += bytes;
        }

        var weightMap = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            string file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafeTensorsWriter.Save(Path.Combine(directory, file), shards[i].Select(n => KeyValuePair.Create(n, tensors[n])), metadata);
            foreach (string name in shards[i])
            {
                weightMap[name] = file;
            }
        }

        var index = new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = total },
            ["weight_map"] = weightMap,
        };
        string indexPath = Path.Combine(directory, IndexFileName);
        File.WriteAllText(indexPath, index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return indexPath;
    }
}
