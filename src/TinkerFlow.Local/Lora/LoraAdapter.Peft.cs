using System.Text.Json;
using System.Text.Json.Nodes;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Lora;

/// <content>Saving and loading in the PEFT layout: <c>adapter_model.safetensors</c> + <c>adapter_config.json</c>.</content>
internal sealed partial class LoraAdapter
{
    /// <summary>The PEFT weights file name.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>The PEFT config file name.</summary>
    public const string ConfigFileName = "adapter_config.json";

    /// <summary>
    /// Writes <c>adapter_model.safetensors</c> (float32, PEFT keys) and <c>adapter_config.json</c> (r, lora_alpha,
    /// target_modules, ...) into <paramref name="directory"/>, creating it if needed.
    /// </summary>
    public void Save(string directory, string? baseModelNameOrPath = null)
    {
        Directory.CreateDirectory(directory);
        SafeTensorsWriter.Save(
            Path.Combine(directory, WeightsFileName),
            Tensors.Select(kv => KeyValuePair.Create(kv.Key, (Tensor)kv.Value)),
            new Dictionary<string, string> { ["format"] = "pt" });

        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModelNameOrPath,
            ["r"] = Options.Rank,
            ["lora_alpha"] = Options.Alpha,
            ["lora_dropout"] = 0.0,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["target_modules"] = new JsonArray([.. Options.TargetModules.Order(StringComparer.Ordinal).Select(m => (JsonNode)m)]),
            ["tinkerflow_seed"] = Options.Seed,
        };
        File.WriteAllText(Path.Combine(directory, ConfigFileName), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>
    /// Loads an adapter saved by <see cref="Save"/> (or by PEFT, for the modules TinkerFlow supports) for <paramref name="model"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">Keys or shapes do not match the model, or the config is malformed.</exception>
    public static LoraAdapter Load(string directory, CausalLm model)
    {
        string configPath = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(configPath))
        {
            throw new FileNotFoundException($"LoRA adapter config not found: {configPath} (LoraAdapter.Save writes it).", configPath);
        }
        JsonObject config;
        try
        {
            config = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject
                ?? throw new InvalidDataException($"{configPath}: not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{configPath}: not valid JSON ({e.Message}).", e);
        }

        int rank = config["r"]?.GetValue<int>() ?? throw new InvalidDataException($"{configPath}: \"r\" is missing.");
        var options = new LoraAdapterOptions
        {
            Rank = rank,
            Alpha = config["lora_alpha"]?.GetValue<double>() ?? rank,
            TargetModules = config["target_modules"] is JsonArray targets
                ? [.. targets.Select(t => t!.GetValue<string>())]
                : new LoraAdapterOptions().TargetModules,
            Seed = config["tinkerflow_seed"]?.GetValue<long>() ?? 0,
        };

        var adapter = Create(model, options);
        using var scope = torch.NewDisposeScope();
        var loaded = SafeTensorsReader.Load(Path.Combine(directory, WeightsFileName));
        var expected = adapter.Tensors;
        var missing = expected.Keys.Except(loaded.Keys).ToList();
        var unexpected = loaded.Keys.Except(expected.Keys).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            adapter.Dispose();
            throw new InvalidDataException($"{directory}: adapter weights do not match the model. "
                + $"Missing: [{string.Join(", ", missing)}]. Unexpected: [{string.Join(", ", unexpected)}].");
        }
        using (torch.no_grad())
        {
            foreach (var (key, parameter) in expected)
            {
                var source = loaded[key];
                if (!source.shape.SequenceEqual(parameter.shape))
                {
                    adapter.Dispose();
                    throw new InvalidDataException($"{directory}: '{key}' has shape [{string.Join(", ", source.shape)}], "
                        + $"the model needs [{string.Join(", ", parameter.shape)}].");
                }
                parameter.copy_(source.to(ScalarType.Float32));
            }
        }
        return adapter;
    }
}
