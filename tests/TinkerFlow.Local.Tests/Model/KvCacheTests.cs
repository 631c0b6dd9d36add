using TinkerFlow.Local.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Model;

[Collection("Torch")]
public sealed class KvCacheTests
{
    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama")]
    public void KvCache_DecodeMatchesFullForward(string family)
    {
        using var model = TinyModels.Build(family == "qwen3" ? TinyModels.Qwen3() : TinyModels.Llama());
        using var ids = TinyModels.Tokens(1, 12, 50);
        using var full = model.forward(ids);                                       // (1, 12, V)
        using var cache = model.CreateCache(1);
        using var scope = torch.NewDisposeScope();

        var prefill = model.forward(ids.narrow(1, 0, 5), null, cache);            // (1, 5, V)
        double maxDiff = TinyModels.MaxAbsDiff(prefill, full.narrow(1, 0, 5));
        for (int t = 5; t < 12; t++)
        {
            var step = model.forward(ids.narrow(1, t, 1), null, cache);             // (1, 1, V)
            maxDiff = Math.Max(maxDiff, TinyModels.MaxAbsDiff(step, full.narrow(1, t, 1)));
        }

        Assert.Equal(12, cache.Length);
        Assert.True(maxDiff < 1e-5, $"max |cached - full| = {maxDiff}");
    }

    [Fact]
    public void KvCache_BatchOfThreeRightPaddedDecodeMatchesFullForward()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        int[] promptLengths = [3, 5, 4];
        const int steps = 4;
        using var tokens = TinyModels.Tokens(3, 5 + steps, 50, salt: 1);            // each row's prompt then its continuation
        using var cache = model.CreateCache(3);
        using var scope = torch.NewDisposeScope();

        var promptMask = torch.tensor(promptLengths.SelectMany(l => Enumerable.Range(0, 5).Select(t => t < l)).ToArray(), [3, 5]);
        var prefill = model.forward(tokens.narrow(1, 0, 5), promptMask, cache);   // (3, 5, V)
        var stepLogits = new List<Tensor>();
        for (int s = 0; s < steps; s++)
        {
            // Row b's next token is tokens[b, promptLengths[b] + s].
            var next = torch.stack(promptLengths.Select((l, b) => tokens[b, l + s]).ToArray()).unsqueeze(1);   // (3, 1)
            stepLogits.Add(model.forward(next, null, cache));                      // (3, 1, V)
        }

        double maxDiff = 0;
        for (int b = 0; b < 3; b++)
        {
            int length = promptLengths[b] + steps;
            var alone = model.forward(tokens.narrow(0, b, 1).narrow(1, 0, length));   // (1, L, V)
            maxDiff = Math.Max(maxDiff, TinyModels.MaxAbsDiff(prefill.narrow(0, b, 1).narrow(1, 0, promptLengths[b]),
                alone.narrow(1, 0, promptLengths[b])));
            for (int s = 0; s < steps; s++)
            {
                maxDiff = Math.Max(maxDiff, TinyModels.MaxAbsDiff(stepLogits[s].narrow(0, b, 1), alone.narrow(1, promptLengths[b] + s, 1)));
            }
        }

        Assert.Equal(5 + steps, cache.Length);
        Assert.True(maxDiff < 1e-5, $"max |batched cached - alone| = {maxDiff}");
    }

    [Fact]
    public void KvCache_RejectsWrongBatchSize()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var cache = model.CreateCache(2);
        using var ids = TinyModels.Tokens(3, 2, 50);

        var error = Assert.Throws<ArgumentException>(() => model.forward(ids, null, cache));

        Assert.StartsWith("the KV cache holds 2 sequences but input_ids has 3 rows.", error.Message);
    }
}
