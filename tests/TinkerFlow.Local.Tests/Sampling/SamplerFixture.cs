using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Sampling;

/// <summary>A tiny seeded model, a prompt and reference computations (full forwards without a cache) for the sampler tests.</summary>
internal static class SamplerFixture
{
    public const int Vocab = 64;

    /// <summary>One character per token id, so a decoded completion is easy to read and search.</summary>
    public const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";

    public static readonly int[] Prompt = [5, 17, 42, 3, 8, 60, 21];

    public static TransformerConfig Config(int maxPositions = 64) => new()
    {
        ModelType = "qwen3",
        HiddenSize = 32,
        IntermediateSize = 64,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = 8,
        VocabSize = Vocab,
        MaxPositionEmbeddings = maxPositions,
    };

    public static CausalLm TinyLm(int maxPositions = 64, long seed = 7)
    {
        var model = new CausalLm(Config(maxPositions));
        model.InitializeWeights(seed, std: 0.1);
        model.SetTrainable(false);
        return model;
    }

    public static string Decode(IReadOnlyList<int> ids) => new([.. ids.Select(i => Alphabet[i])]);

    /// <summary>log_softmax of the full-forward logits at every position of <paramref name="tokens"/>. [T, V]</summary>
    public static float[,] FullLogprobs(CausalLm model, IReadOnlyList<int> tokens, LoraAdapter? adapter = null)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = torch.tensor(tokens.Select(t => (long)t).ToArray(), [1, tokens.Count]);   // (1, T)
        var logp = model.forward(ids, null, null, adapter)[0].log_softmax(-1);            // (T, V)
        var flat = logp.data<float>().ToArray();
        var result = new float[tokens.Count, Vocab];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }

    /// <summary>Next-token log-probabilities after <paramref name="tokens"/>. [V]</summary>
    public static float[] NextLogprobs(CausalLm model, IReadOnlyList<int> tokens, LoraAdapter? adapter = null)
    {
        var all = FullLogprobs(model, tokens, adapter);
        return [.. Enumerable.Range(0, Vocab).Select(v => all[tokens.Count - 1, v])];
    }

    /// <summary>Greedy continuation by repeated full forwards without a cache.</summary>
    public static List<int> GreedyByFullForward(CausalLm model, IReadOnlyList<int> prompt, int steps, LoraAdapter? adapter = null)
    {
        var sequence = prompt.ToList();
        var generated = new List<int>();
        for (int i = 0; i < steps; i++)
        {
            var next = NextLogprobs(model, sequence, adapter);
            int best = Array.IndexOf(next, next.Max());
            generated.Add(best);
            sequence.Add(best);
        }
        return generated;
    }

    /// <summary>Ids sorted by decreasing probability.</summary>
    public static int[] Ranked(float[] logprobs) =>
        [.. Enumerable.Range(0, logprobs.Length).OrderByDescending(i => logprobs[i])];
}
