using TinkerFlow.Types;

namespace TinkerFlow.Local.Tests.Backend;

[Collection("Torch")]
public sealed class BuiltinModelTests
{
    [Fact]
    public async Task BuiltinModel_ShippedPretrainedWeightsDoArithmetic()
    {
        using var home = new TempHome();
        await using var backend = new LocalBackend(new LocalBackendOptions { HomeDirectory = home.Path, ModelDirectories = new Dictionary<string, string>() });
        await using var service = new ServiceClient(backend);
        var sampler = await service.CreateSamplingClientAsync(baseModel: "tinkerflow/tiny-qwen3");
        var tokenizer = await sampler.GetTokenizerAsync();
        var problems = new[] { (12, 35), (40, 2), (77, 18), (9, 9), (63, 30), (25, 25), (81, 11), (5, 44) };

        var correct = 0;
        foreach (var (a, b) in problems)
        {
            var prompt = ModelInput.FromInts(tokenizer.Encode($"{a}+{b}="));
            var result = await sampler.SampleAsync(WaitUntil.Completed, prompt, 1, new SamplingParams { MaxTokens = 4, Temperature = 0, Stop = new[] { "\n" } });
            var text = tokenizer.Decode(result.Value.Sequences[0].Tokens).TrimEnd('\n');
            correct += text == (a + b).ToString(System.Globalization.CultureInfo.InvariantCulture) ? 1 : 0;
        }

        // tools/pretrain_builtin.py measured 90% on random two-digit additions.
        Assert.True(correct >= 6, $"{correct}/{problems.Length} additions right");
        Assert.Contains("shipped-", backend.Models.Get("tinkerflow/tiny-qwen3").Source);
    }
}
