using TinkerFlow.Local.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Model;

/// <summary>Tiny configurations and helpers shared by the model, LoRA and weights tests.</summary>
internal static class TinyModels
{
    public static TransformerConfig Qwen3(bool tied = false, int kvHeads = 2, RopeScaling? scaling = null) => new()
    {
        ModelType = "qwen3",
        HiddenSize = 32,
        IntermediateSize = 64,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = kvHeads,
        HeadDim = 8,
        VocabSize = 50,
        RmsNormEps = 1e-6,
        RopeTheta = 10000,
        RopeScaling = scaling,
        TieWordEmbeddings = tied,
        MaxPositionEmbeddings = 128,
    };

    public static TransformerConfig Llama(bool tied = true, int kvHeads = 2, RopeScaling? scaling = null) =>
        Qwen3(tied, kvHeads, scaling) with { ModelType = "llama", RmsNormEps = 1e-5 };

    public static CausalLm Build(TransformerConfig config, long seed = 1)
    {
        var model = new CausalLm(config);
        model.InitializeWeights(seed, std: 0.1);
        model.SetTrainable(false);
        return model;
    }

    /// <summary>Deterministic token ids in [0, vocab). [rows, length] int64</summary>
    public static Tensor Tokens(int rows, int length, int vocab, int salt = 0)
    {
        var ids = new long[rows * length];
        for (int b = 0; b < rows; b++)
        {
            for (int t = 0; t < length; t++)
            {
                ids[b * length + t] = (3 + 7 * t + 11 * b + 5 * t * t + salt) % vocab;
            }
        }
        return torch.tensor(ids, [rows, length]);
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var diff = (a - b).abs().max();
        return diff.item<float>();
    }
}
