using System.Text.Json;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Types;

public class ParamsTests
{
    [Fact]
    public void AdamParams_DefaultsAreWrittenExactly()
    {
        var json = TinkerJson.Serialize(new AdamParams());
        JsonAssert.Equal(
            """{"learning_rate":0.0001,"beta1":0.9,"beta2":0.95,"eps":1e-12,"weight_decay":0.0,"grad_clip_norm":0.0}""",
            json);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(6, doc.RootElement.EnumerateObject().Count());
    }

    [Fact]
    public void AdamParams_MissingFieldsTakeDefaults()
    {
        var parsed = TinkerJson.Deserialize<AdamParams>("""{"learning_rate":0.001}""");
        Assert.Equal(new AdamParams { LearningRate = 0.001 }, parsed);
        Assert.Equal(0.95, parsed.Beta2);
        Assert.Equal(0, parsed.GradClipNorm);
    }

    [Theory]
    [InlineData("learning_rate", -1, "adam_params.learning_rate must be >= 0, got -1")]
    [InlineData("learning_rate", double.NaN, "adam_params.learning_rate must be >= 0, got NaN")]
    [InlineData("beta1", 1.0, "adam_params.beta1 must be in [0, 1), got 1")]
    [InlineData("beta2", -0.1, "adam_params.beta2 must be in [0, 1), got -0.1")]
    [InlineData("eps", 0, "adam_params.eps must be > 0, got 0")]
    [InlineData("weight_decay", -0.01, "adam_params.weight_decay must be >= 0")]
    [InlineData("grad_clip_norm", -1, "adam_params.grad_clip_norm must be >= 0")]
    public void AdamParams_RejectsInvalidValues(string field, double value, string message)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => field switch
        {
            "learning_rate" => new AdamParams { LearningRate = value },
            "beta1" => new AdamParams { Beta1 = value },
            "beta2" => new AdamParams { Beta2 = value },
            "eps" => new AdamParams { Eps = value },
            "weight_decay" => new AdamParams { WeightDecay = value },
            _ => new AdamParams { GradClipNorm = value },
        });
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void AdamParams_JsonGoesThroughValidation()
    {
        var ex = Assert.Throws<JsonException>(() => TinkerJson.Deserialize<AdamParams>("""{"eps":-1}"""));
        Assert.Contains("adam_params.eps must be > 0, got -1", ex.Message);
        Assert.IsAssignableFrom<ArgumentException>(ex.InnerException);
    }

    [Fact]
    public void LoraConfig_DefaultsAndOptionalSeed()
    {
        JsonAssert.Equal(
            """{"rank":32,"train_unembed":true,"train_mlp":true,"train_attn":true}""",
            TinkerJson.Serialize(new LoraConfig()));
        JsonAssert.Equal(
            """{"rank":8,"seed":7,"train_unembed":true,"train_mlp":false,"train_attn":true}""",
            TinkerJson.Serialize(new LoraConfig { Rank = 8, Seed = 7, TrainMlp = false }));
    }

    [Fact]
    public void LoraConfig_RejectsRankBelowOneAndAllTrainFlagsFalse()
    {
        Assert.Contains("lora_config.rank must be >= 1, got 0", Assert.Throws<ArgumentException>(() => new LoraConfig { Rank = 0 }).Message);
        var ex = Assert.Throws<ArgumentException>(() => new LoraConfig { TrainUnembed = false, TrainMlp = false, TrainAttn = false });
        Assert.Contains("train_unembed, train_mlp, train_attn", ex.Message);
        Assert.Throws<JsonException>(() => TinkerJson.Deserialize<LoraConfig>(
            """{"rank":4,"train_attn":false,"train_mlp":false,"train_unembed":false}"""));
        Assert.True(new LoraConfig { TrainUnembed = false, TrainMlp = false }.TrainAttn);
    }

    [Fact]
    public void SamplingParams_WritesDefaultsButOmitsNullMaxTokens()
    {
        var json = TinkerJson.Serialize(new SamplingParams());
        JsonAssert.Equal("""{"temperature":1.0,"top_k":-1,"top_p":1.0}""", json);
        Assert.DoesNotContain("max_tokens", json);
        Assert.DoesNotContain("null", json);
    }

    [Fact]
    public void SamplingParams_RoundTripsAllFields()
    {
        var original = new SamplingParams { MaxTokens = 16, Seed = 1L << 40, Stop = new[] { "\n\n", "###" }, Temperature = 0, TopK = 20, TopP = 0.9 };
        var back = TinkerJson.Deserialize<SamplingParams>(TinkerJson.Serialize(original));
        Assert.Equal(original, back);
        Assert.Equal(1L << 40, back.Seed);
    }

    [Theory]
    [InlineData("temperature", -1, "sampling_params.temperature must be >= 0, got -1")]
    [InlineData("temperature", double.NaN, "sampling_params.temperature must be >= 0, got NaN")]
    [InlineData("top_p", 0, "sampling_params.top_p must be in (0, 1], got 0")]
    [InlineData("top_p", 1.5, "sampling_params.top_p must be in (0, 1], got 1.5")]
    [InlineData("top_k", 0, "sampling_params.top_k must be -1 (no limit) or >= 1, got 0")]
    [InlineData("top_k", -2, "sampling_params.top_k must be -1 (no limit) or >= 1, got -2")]
    [InlineData("max_tokens", 0, "sampling_params.max_tokens must be >= 1, got 0")]
    public void SamplingParams_RejectsInvalidValues(string field, double value, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => field switch
        {
            "temperature" => new SamplingParams { Temperature = value },
            "top_p" => new SamplingParams { TopP = value },
            "top_k" => new SamplingParams { TopK = (int)value },
            _ => new SamplingParams { MaxTokens = (int)value },
        });
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void SamplingParams_JsonGoesThroughValidation()
    {
        var ex = Assert.Throws<JsonException>(() => TinkerJson.Deserialize<SamplingParams>("""{"temperature":-0.5}"""));
        Assert.Contains("sampling_params.temperature", ex.Message);
    }

    [Fact]
    public void StopCondition_ThreeWireForms()
    {
        StopCondition single = "\n";
        StopCondition strings = new[] { "a", "b" };
        StopCondition ids = new[] { 1, 2 };
        Assert.Equal("\"\\n\"", TinkerJson.Serialize(single));
        Assert.Equal("""["a","b"]""", TinkerJson.Serialize(strings));
        Assert.Equal("[1,2]", TinkerJson.Serialize(ids));
        Assert.Equal(single, TinkerJson.Deserialize<StopCondition>("\"\\n\""));
        Assert.Equal(strings, TinkerJson.Deserialize<StopCondition>("""["a","b"]"""));
        Assert.Equal(ids, TinkerJson.Deserialize<StopCondition>("[1,2]"));
        Assert.Null(ids.Strings);
        Assert.Null(strings.TokenIds);
        Assert.NotEqual(StopCondition.FromString("a"), StopCondition.FromStrings(["a"]));
    }

    [Theory]
    [InlineData("""["a",1]""")]
    [InlineData("""[1,"a"]""")]
    [InlineData("""{"a":1}""")]
    [InlineData("3")]
    public void StopCondition_RejectsOtherShapes(string json) =>
        Assert.Throws<JsonException>(() => TinkerJson.Deserialize<StopCondition>(json));

    [Fact]
    public void StopCondition_EmptyArrayIsNoStrings()
    {
        var stop = TinkerJson.Deserialize<StopCondition>("[]");
        Assert.Empty(stop.Strings!);
        Assert.Equal("[]", TinkerJson.Serialize(stop));
    }
}
