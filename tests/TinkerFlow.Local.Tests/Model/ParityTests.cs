using TinkerFlow.Local.Model;
using TinkerFlow.Local.Weights;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Model;

/// <summary>
/// Logits of tiny random checkpoints against Hugging Face transformers' own (Fixtures/parity, written by make_fixtures.py
/// there). Tolerance 1e-4 absolute; the max difference is printed.
/// </summary>
[Collection("Torch")]
public sealed class ParityTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    [Fact]
    public void Parity_Qwen3MatchesTransformers() => CheckFixture("qwen3");

    [Fact]
    public void Parity_LlamaMatchesTransformers() => CheckFixture("llama");

    [Fact]
    public void Parity_Qwen3TiedMatchesTransformers() => CheckFixture("qwen3_tied");

    private void CheckFixture(string name)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "parity", name);
        using var model = HfModelLoader.Load(folder);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var expected = SafeTensorsReader.Load(Path.Combine(folder, "expected.safetensors"));

        // RoPE frequencies (llama3 scaling covers all three regimes in the llama fixture).
        var invFreq = torch.tensor(new RotaryEmbedding(model.Config).InverseFrequencies.ToArray());
        double ropeDiff = TinyModels.MaxAbsDiff(invFreq, expected["rope_inv_freq"]);

        // Full forward.
        var logits = model.forward(expected["input_ids"]);
        double logitsDiff = TinyModels.MaxAbsDiff(logits, expected["logits"]);

        // Greedy decode with the KV cache: prefill the prompt, then one token per step.
        using var cache = model.CreateCache(1);
        var greedy = new List<long>();
        double stepDiff = 0;
        var input = expected["greedy_prompt"];
        var expectedSteps = expected["logits_step"];
        for (int step = 0; step < expectedSteps.shape[0]; step++)
        {
            var last = model.forward(input, null, cache).select(1, -1).squeeze(0);    // (V)
            stepDiff = Math.Max(stepDiff, TinyModels.MaxAbsDiff(last, expectedSteps[step]));
            long token = last.argmax().item<long>();
            greedy.Add(token);
            input = torch.tensor(new[] { token }, [1, 1]);
        }

        output.WriteLine($"{name}: max |Δlogits| {logitsDiff:E2}, max |Δstep logits| {stepDiff:E2}, max |Δinv_freq| {ropeDiff:E2} (tolerance {Tolerance:E0})");
        Assert.True(ropeDiff < 1e-6, $"{name}: RoPE inverse frequencies differ by {ropeDiff}");
        Assert.True(logitsDiff < Tolerance, $"{name}: logits differ by {logitsDiff}");
        Assert.True(stepDiff < Tolerance, $"{name}: cached decode logits differ by {stepDiff}");
        Assert.Equal(expected["greedy_tokens"].data<long>().ToArray(), greedy.ToArray());
    }
}
