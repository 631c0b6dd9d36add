using System.IO.Compression;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>
/// A Hugging Face model folder with Qwen3-0.6B's shapes, deterministic random bf16 weights (N(0, 0.02²), norms 1, seed
/// fixed) and the real Qwen3 tokenizer (the test fixture's copy), generated once and cached outside the repository in
/// <c>$XDG_CACHE_HOME/tinkerflow</c> (default <c>~/.cache/tinkerflow</c>).
/// </summary>
internal static class ScaleModelFolder
{
    private const long Seed = 20260600;
    private const string Version = "v1";

    /// <summary>Qwen3-0.6B's config (tied embeddings, 28 layers, 16/8 heads of 128, SwiGLU 3072, vocab 151,936).</summary>
    public static TransformerConfig Qwen3_0_6B { get; } = new()
    {
        ModelType = "qwen3",
        HiddenSize = 1024,
        IntermediateSize = 3072,
        NumHiddenLayers = 28,
        NumAttentionHeads = 16,
        NumKeyValueHeads = 8,
        HeadDim = 128,
        VocabSize = 151_936,
        RmsNormEps = 1e-6,
        RopeTheta = 1_000_000,
        MaxPositionEmbeddings = 40_960,
        TieWordEmbeddings = true,
    };

    /// <summary>The same vocabulary and head layout at toy width and depth, for <c>--smoke</c>.</summary>
    public static TransformerConfig Smoke { get; } = Qwen3_0_6B with
    {
        HiddenSize = 64,
        IntermediateSize = 128,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        HeadDim = 16,
    };

    /// <summary>The folder for <paramref name="config"/>, generated on first use. Returns its path and whether it was generated now.</summary>
    public static (string Path, bool Generated) Ensure(TransformerConfig config, string name)
    {
        string root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        string folder = System.IO.Path.Combine(root, "tinkerflow", $"{name}-random-{Version}");
        string weights = System.IO.Path.Combine(folder, HfModelLoader.SingleFileName);
        if (File.Exists(weights) && File.Exists(System.IO.Path.Combine(folder, "tokenizer.json")))
        {
            return (folder, false);
        }

        Directory.CreateDirectory(folder);
        CopyTokenizer(folder);
        File.WriteAllText(System.IO.Path.Combine(folder, "config.json"), config.ToJson());
        using (var scope = NewDisposeScope())
        {
            SafeTensorsWriter.Save(weights, RandomWeights(config), new Dictionary<string, string> { ["format"] = "pt" });
        }

        return (folder, true);
    }

    /// <summary>
    /// Every checkpoint key of a Qwen3 model with deterministic random bf16 values (all held until written: 1.2 GB at 0.6B),
    /// in the caller's dispose scope.
    /// </summary>
    private static List<KeyValuePair<string, Tensor>> RandomWeights(TransformerConfig c)
    {
        var shapes = new List<(string Name, long[] Shape)> { ("model.embed_tokens.weight", [c.VocabSize, c.HiddenSize]), ("model.norm.weight", [c.HiddenSize]) };
        if (!c.TieWordEmbeddings)
        {
            shapes.Add(("lm_head.weight", [c.VocabSize, c.HiddenSize]));
        }

        long q = (long)c.NumAttentionHeads * c.HeadDim, kv = (long)c.NumKeyValueHeads * c.HeadDim;
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}.";
            shapes.Add((p + "input_layernorm.weight", [c.HiddenSize]));
            shapes.Add((p + "post_attention_layernorm.weight", [c.HiddenSize]));
            shapes.Add((p + "self_attn.q_proj.weight", [q, c.HiddenSize]));
            shapes.Add((p + "self_attn.k_proj.weight", [kv, c.HiddenSize]));
            shapes.Add((p + "self_attn.v_proj.weight", [kv, c.HiddenSize]));
            shapes.Add((p + "self_attn.o_proj.weight", [c.HiddenSize, q]));
            shapes.Add((p + "self_attn.q_norm.weight", [c.HeadDim]));
            shapes.Add((p + "self_attn.k_norm.weight", [c.HeadDim]));
            shapes.Add((p + "mlp.gate_proj.weight", [c.IntermediateSize, c.HiddenSize]));
            shapes.Add((p + "mlp.up_proj.weight", [c.IntermediateSize, c.HiddenSize]));
            shapes.Add((p + "mlp.down_proj.weight", [c.HiddenSize, c.IntermediateSize]));
        }

        using var generator = new torch.Generator((ulong)Seed, CPU);
        using var noGrad = no_grad();
        var result = new List<KeyValuePair<string, Tensor>>(shapes.Count);
        foreach (var (name, shape) in shapes)
        {
            using var tensorScope = NewDisposeScope();
            var values = name.EndsWith("norm.weight", StringComparison.Ordinal)
                ? ones(shape, ScalarType.BFloat16)
                : empty(shape, ScalarType.Float32).normal_(0, 0.02, generator).to(ScalarType.BFloat16);
            result.Add(KeyValuePair.Create(name, values.MoveToOuterDisposeScope()));
        }

        return result;
    }

    /// <summary>The real Qwen3 tokenizer shipped (gzipped) with the tokenizer tests, found by walking up from the binaries.</summary>
    private static void CopyTokenizer(string folder)
    {
        const string relative = "tests/TinkerFlow.Tests/Fixtures/tokenizers/qwen3";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string source = System.IO.Path.Combine(dir.FullName, relative);
            if (!File.Exists(System.IO.Path.Combine(source, "tokenizer.json.gz")))
            {
                continue;
            }

            using (var input = new GZipStream(File.OpenRead(System.IO.Path.Combine(source, "tokenizer.json.gz")), CompressionMode.Decompress))
            using (var output = File.Create(System.IO.Path.Combine(folder, "tokenizer.json")))
            {
                input.CopyTo(output);
            }

            File.Copy(System.IO.Path.Combine(source, "tokenizer_config.json"), System.IO.Path.Combine(folder, "tokenizer_config.json"), overwrite: true);
            return;
        }

        throw new FileNotFoundException($"the Qwen3 tokenizer ({relative}/tokenizer.json.gz) was not found above {AppContext.BaseDirectory}; run the benchmark from a checkout.");
    }
}
