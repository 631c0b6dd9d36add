using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TinkerFlow.Local.Model;

/// <summary>
/// The decoder-only transformer hyper-parameters, read from a Hugging Face <c>config.json</c> of a Qwen3 or Llama model.
/// </summary>
/// <remarks>
/// Qwen3 differs from Llama here only in <see cref="UseQkNorm"/> (an RMSNorm over each head's query and key before RoPE)
/// and in carrying an explicit <c>head_dim</c>. Both the classic (<c>rope_theta</c>, <c>rope_scaling</c>) and the newer
/// transformers 5 spelling (<c>rope_parameters</c>) are understood.
/// </remarks>
internal sealed record TransformerConfig
{
    /// <summary>"qwen3" or "llama".</summary>
    public required string ModelType { get; init; }

    /// <summary>Model width C (<c>hidden_size</c>).</summary>
    public required int HiddenSize { get; init; }

    /// <summary>SwiGLU inner width (<c>intermediate_size</c>).</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Number of decoder layers.</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary>Number of query heads.</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary>Number of key/value heads (fewer than query heads means grouped-query attention).</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary>Per-head width D (Qwen3 sets it explicitly; otherwise hidden_size / num_attention_heads).</summary>
    public required int HeadDim { get; init; }

    /// <summary>Vocabulary size V.</summary>
    public required int VocabSize { get; init; }

    /// <summary>Epsilon inside every RMSNorm.</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary>RoPE base frequency.</summary>
    public double RopeTheta { get; init; } = 10000.0;

    /// <summary>Optional RoPE scaling (null = plain RoPE).</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary>True if <c>lm_head</c> shares <c>model.embed_tokens.weight</c> (the checkpoint then has no lm_head.weight).</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>Longest sequence the model is meant for.</summary>
    public int MaxPositionEmbeddings { get; init; } = 2048;

    /// <summary>True if q/k/v/o projections carry biases.</summary>
    public bool AttentionBias { get; init; }

    /// <summary>True if gate/up/down projections carry biases (Llama's <c>mlp_bias</c>).</summary>
    public bool MlpBias { get; init; }

    /// <summary>Qwen3's per-head q_norm / k_norm (true for model_type qwen3).</summary>
    public bool UseQkNorm => ModelType == "qwen3";

    /// <summary>Model types this engine implements.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = ["qwen3", "llama"];

    /// <summary>Reads and validates a <c>config.json</c> file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The JSON is malformed, a required field is missing, or the model type is unsupported.</exception>
    public static TransformerConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model config not found: {path} (a Hugging Face model folder needs a config.json)", path);
        }
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates the text of a <c>config.json</c>; <paramref name="source"/> names it in errors.</summary>
    public static TransformerConfig Parse(string json, string source = "config.json")
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source}: the config is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: the config is not valid JSON ({e.Message}).", e);
        }

        string modelType = root["model_type"]?.GetValue<string>()
            ?? throw new InvalidDataException($"{source}: \"model_type\" is missing (expected one of: {string.Join(", ", SupportedModelTypes)}).");
        if (!SupportedModelTypes.Contains(modelType))
        {
            throw new InvalidDataException(
                $"{source}: model_type '{modelType}' is not supported; TinkerFlow.Local implements {string.Join(" and ", SupportedModelTypes)} decoder models.");
        }

        string? activation = root["hidden_act"]?.GetValue<string>();
        if (activation is not null and not "silu")
        {
            throw new InvalidDataException($"{source}: hidden_act '{activation}' is not supported (only silu).");
        }
        if (root["use_sliding_window"]?.GetValue<bool>() == true)
        {
            throw new InvalidDataException($"{source}: use_sliding_window = true is not supported.");
        }

        int Required(string key) => root[key] is JsonNode node
            ? node.GetValue<int>()
            : throw new InvalidDataException($"{source}: \"{key}\" is missing.");

        int hidden = Required("hidden_size");
        int heads = Required("num_attention_heads");
        int kvHeads = root["num_key_value_heads"]?.GetValue<int>() ?? heads;
        int headDim = root["head_dim"]?.GetValue<int>() ?? hidden / heads;

        // transformers 5 moved rope_theta/rope_scaling into rope_parameters.
        var ropeParameters = root["rope_parameters"] as JsonObject;
        double ropeTheta = ReadDouble(root["rope_theta"]) ?? ReadDouble(ropeParameters?["rope_theta"]) ?? 10000.0;
        var scaling = ParseRopeScaling(root["rope_scaling"] as JsonObject ?? ropeParameters, source);

        var config = new TransformerConfig
        {
            ModelType = modelType,
            HiddenSize = hidden,
            IntermediateSize = Required("intermediate_size"),
            NumHiddenLayers = Required("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            VocabSize = Required("vocab_size"),
            RmsNormEps = ReadDouble(root["rms_norm_eps"]) ?? 1e-6,
            RopeTheta = ropeTheta,
            RopeScaling = scaling,
            TieWordEmbeddings = root["tie_word_embeddings"]?.GetValue<bool>() ?? false,
            MaxPositionEmbeddings = root["max_position_embeddings"]?.GetValue<int>() ?? 2048,
            AttentionBias = root["attention_bias"]?.GetValue<bool>() ?? false,
            MlpBias = root["mlp_bias"]?.GetValue<bool>() ?? false,
        };
        config.Validate(source);
        return config;
    }

    /// <summary>Checks the numbers fit together (heads divide evenly, sizes positive).</summary>
    /// <exception cref="InvalidDataException">They do not; the message names <paramref name="source"/>.</exception>
    public void Validate(string source = "config")
    {
        if (HiddenSize <= 0 || IntermediateSize <= 0 || NumHiddenLayers <= 0 || NumAttentionHeads <= 0
            || NumKeyValueHeads <= 0 || HeadDim <= 0 || VocabSize <= 0)
        {
            throw new InvalidDataException($"{source}: sizes must be positive (hidden_size {HiddenSize}, intermediate_size {IntermediateSize}, "
                + $"num_hidden_layers {NumHiddenLayers}, heads {NumAttentionHeads}/{NumKeyValueHeads}, head_dim {HeadDim}, vocab_size {VocabSize}).");
        }
        if (NumAttentionHeads % NumKeyValueHeads != 0)
        {
            throw new InvalidDataException($"{source}: num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads}).");
        }
        if (HeadDim % 2 != 0)
        {
            throw new InvalidDataException($"{source}: head_dim ({HeadDim}) must be even for rotary embeddings.");
        }
    }

    /// <summary>Writes a Hugging Face style <c>config.json</c> text for this configuration.</summary>
    public string ToJson()
    {
        var root = new JsonObject
        {
            ["architectures"] = new JsonArray(ModelType == "qwen3" ? "Qwen3ForCausalLM" : "LlamaForCausalLM"),
            ["model_type"] = ModelType,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["head_dim"] = HeadDim,
            ["vocab_size"] = VocabSize,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["rope_scaling"] = RopeScaling is null ? null : new JsonObject
            {
                ["rope_type"] = RopeScaling.Type,
                ["factor"] = RopeScaling.Factor,
                ["low_freq_factor"] = RopeScaling.LowFreqFactor,
                ["high_freq_factor"] = RopeScaling.HighFreqFactor,
                ["original_max_position_embeddings"] = RopeScaling.OriginalMaxPositionEmbeddings,
            },
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["attention_bias"] = AttentionBias,
            ["mlp_bias"] = MlpBias,
            ["hidden_act"] = "silu",
            ["torch_dtype"] = "float32",
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static RopeScaling? ParseRopeScaling(JsonObject? node, string source)
    {
        if (node is null)
        {
            return null;
        }
        string type = (node["rope_type"] ?? node["type"])?.GetValue<string>() ?? "default";
        switch (type)
        {
            case "default":
                return null;
            case "linear":
            case "llama3":
                double factor = ReadDouble(node["factor"])
                    ?? throw new InvalidDataException($"{source}: rope_scaling of type '{type}' needs a \"factor\".");
                return new RopeScaling(
                    type,
                    factor,
                    ReadDouble(node["low_freq_factor"]) ?? 1.0,
                    ReadDouble(node["high_freq_factor"]) ?? 4.0,
                    node["original_max_position_embeddings"]?.GetValue<int>() ?? 8192);
            default:
                throw new InvalidDataException($"{source}: rope_scaling type '{type}' is not supported (supported: null, linear, llama3).");
        }
    }

    private static double? ReadDouble(JsonNode? node) => node switch
    {
        null => null,
        JsonValue value when value.TryGetValue(out double d) => d,
        JsonValue value when value.TryGetValue(out string? s) => double.Parse(s, CultureInfo.InvariantCulture),
        _ => null,
    };
}
