using TinkerFlow.Local.Model;
using TinkerFlow.Local.Tests.Model;
using TinkerFlow.Local.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Weights;

[Collection("Torch")]
public sealed class HfModelLoaderTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tf-hf-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(false, 4096L)]
    public void HfModelLoader_SavedModelLoadsWithSameLogits(bool tied, long? shardBytes)
    {
        using var original = TinyModels.Build(TinyModels.Qwen3(tied: tied), seed: 11);
        HfModelWriter.Save(original, _directory, shardBytes);

        using var loaded = HfModelLoader.Load(_directory);
        using var ids = TinyModels.Tokens(2, 5, 50);
        using var expected = original.forward(ids);
        using var actual = loaded.forward(ids);

        Assert.Equal(original.Config, loaded.Config);
        Assert.Equal(0.0, TinyModels.MaxAbsDiff(expected, actual));
        Assert.All(loaded.parameters(), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void HfModelLoader_ConvertsBf16ToFloat32()
    {
        using var original = TinyModels.Build(TinyModels.Llama(), seed: 2);
        using (var scope = torch.NewDisposeScope())
        {
            var bf16 = original.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.BFloat16));
            HfModelWriter.Save(bf16, original.Config, _directory);
        }

        using var loaded = HfModelLoader.Load(_directory);
        using var ids = TinyModels.Tokens(1, 6, 50);
        using var expected = original.forward(ids);
        using var actual = loaded.forward(ids);

        Assert.All(loaded.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        double diff = TinyModels.MaxAbsDiff(expected, actual);
        Assert.True(diff > 0 && diff < 0.1, $"bf16 rounding should be small but visible, got {diff}");
    }

    [Fact]
    public void HfModelLoader_MismatchedKeysAreListed()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using (var scope = torch.NewDisposeScope())
        {
            var stateDict = model.state_dict();
            stateDict.Remove("model.norm.weight");
            stateDict["model.extra.weight"] = torch.zeros(2);
            HfModelWriter.Save(stateDict, model.Config, _directory);
        }

        var error = Assert.Throws<InvalidDataException>(() => HfModelLoader.Load(_directory));

        Assert.Equal($"{_directory}: the checkpoint does not match the qwen3 config. Missing keys (1): [model.norm.weight]. "
            + "Unexpected keys (1): [model.extra.weight]. Check that config.json belongs to these weights.", error.Message);
    }

    [Fact]
    public void HfModelLoader_MissingWeightsNameTheFiles()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "config.json"), TinyModels.Qwen3().ToJson());

        var error = Assert.Throws<FileNotFoundException>(() => HfModelLoader.Load(_directory));

        Assert.StartsWith($"no weights in {_directory}: expected model.safetensors or model.safetensors.index.json", error.Message);
    }
}
