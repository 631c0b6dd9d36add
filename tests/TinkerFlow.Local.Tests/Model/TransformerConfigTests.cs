using TinkerFlow.Local.Model;

namespace TinkerFlow.Local.Tests.Model;

public sealed class TransformerConfigTests
{
    private const string Qwen3Json = """
        {"model_type": "qwen3", "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-06,
         "rope_theta": 1000000.0, "rope_scaling": null, "tie_word_embeddings": true, "vocab_size": 128,
         "max_position_embeddings": 256, "attention_bias": false, "hidden_act": "silu", "use_sliding_window": false}
        """;

    [Fact]
    public void Parse_Qwen3ReadsEveryField()
    {
        var config = TransformerConfig.Parse(Qwen3Json);

        Assert.Equal("qwen3", config.ModelType);
        Assert.Equal(64, config.HiddenSize);
        Assert.Equal(160, config.IntermediateSize);
        Assert.Equal(2, config.NumHiddenLayers);
        Assert.Equal((4, 2, 16), (config.NumAttentionHeads, config.NumKeyValueHeads, config.HeadDim));
        Assert.Equal(1e-6, config.RmsNormEps);
        Assert.Equal(1e6, config.RopeTheta);
        Assert.Null(config.RopeScaling);
        Assert.True(config.TieWordEmbeddings);
        Assert.True(config.UseQkNorm);
        Assert.Equal(128, config.VocabSize);
        Assert.Equal(256, config.MaxPositionEmbeddings);
    }

    [Fact]
    public void Parse_LlamaDerivesHeadDimAndReadsLlama3Scaling()
    {
        var config = TransformerConfig.Parse("""
            {"model_type": "llama", "hidden_size": 64, "intermediate_size": 176, "num_hidden_layers": 2,
             "num_attention_heads": 4, "vocab_size": 128,
             "rope_scaling": {"type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                              "original_max_position_embeddings": 64}}
            """);

        Assert.Equal(16, config.HeadDim);
        Assert.Equal(4, config.NumKeyValueHeads);
        Assert.False(config.UseQkNorm);
        Assert.Equal(new RopeScaling("llama3", 8.0, 1.0, 4.0, 64), config.RopeScaling);
    }

    [Fact]
    public void Parse_ReadsTransformers5RopeParameters()
    {
        var config = TransformerConfig.Parse("""
            {"model_type": "llama", "hidden_size": 64, "intermediate_size": 176, "num_hidden_layers": 2,
             "num_attention_heads": 4, "vocab_size": 128,
             "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 500000.0}}
            """);

        Assert.Equal(500000.0, config.RopeTheta);
        Assert.Equal("linear", config.RopeScaling!.Type);
        Assert.Equal(2.0, config.RopeScaling.Factor);
    }

    [Fact]
    public void Parse_UnsupportedModelTypeNamesTheSupportedOnes()
    {
        var error = Assert.Throws<InvalidDataException>(() => TransformerConfig.Parse(
            """{"model_type": "gpt2", "hidden_size": 64}""", "gpt2/config.json"));

        Assert.Equal("gpt2/config.json: model_type 'gpt2' is not supported; TinkerFlow.Local implements qwen3 and llama decoder models.", error.Message);
    }

    [Theory]
    [InlineData("""{"model_type": "qwen3"}""", "\"hidden_size\" is missing")]
    [InlineData("""{"model_type": "llama", "hidden_size": 64, "intermediate_size": 1, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 3, "vocab_size": 8}""", "must be a multiple of num_key_value_heads (3)")]
    [InlineData("""{"model_type": "llama", "rope_scaling": {"rope_type": "yarn", "factor": 4}, "hidden_size": 64, "intermediate_size": 1, "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 8}""", "rope_scaling type 'yarn' is not supported")]
    [InlineData("""{"model_type": """, "not valid JSON")]
    public void Parse_RejectsBadConfigs(string json, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => TransformerConfig.Parse(json));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void ToJson_RoundTrips()
    {
        var config = TinyModels.Llama(scaling: new RopeScaling("llama3", 8, 1, 4, 64));

        Assert.Equal(config, TransformerConfig.Parse(config.ToJson()));
    }
}
