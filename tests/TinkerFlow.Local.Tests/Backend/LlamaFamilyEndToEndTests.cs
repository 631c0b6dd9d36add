using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Weights;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Tests.Backend;

/// <summary>
/// A tiny random Llama-3-architecture model folder with the real Llama 3 tokenizer (128,256 ids) trains, samples,
/// saves and exports PEFT through the embedded engine.
/// </summary>
[Collection("Torch")]
public sealed class LlamaFamilyEndToEndTests : IDisposable
{
    private const string ModelName = "test/tiny-llama3";
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task TinyLlama3_TrainsSamplesSavesAndExportsPeft()
    {
        string folder = WriteTinyLlama3Folder(Path.Combine(_home.Path, "tiny-llama3"), withWeights: true);
        await using var backend = new LocalBackend(new LocalBackendOptions
        {
            HomeDirectory = Path.Combine(_home.Path, "home"),
            ModelDirectories = new Dictionary<string, string> { [ModelName] = folder },
        });
        await using var service = new ServiceClient(backend);
        var training = await service.CreateLoraTrainingClientAsync(ModelName, rank: 4, seed: 1);
        var tokenizer = await training.GetTokenizerAsync();
        Assert.Equal(128_256, tokenizer.VocabSize);
        Assert.Equal(128_000, tokenizer.BosTokenId);

        IReadOnlyList<int> ids = [tokenizer.BosTokenId!.Value, .. tokenizer.Encode(
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>")];
        Assert.Contains(128_006, ids);
        var datum = Datum.Create(
            ModelInput.FromInts(ids.Take(ids.Count - 1)),
            new Dictionary<string, object> { ["target_tokens"] = ids.Skip(1).ToArray(), ["weights"] = Enumerable.Repeat(1f, ids.Count - 1).ToArray() });

        var losses = new List<double>();
        for (int step = 0; step < 8; step++)
        {
            var fb = await training.ForwardBackwardAsync(WaitUntil.Completed, [datum], LossFnType.CrossEntropy);
            losses.Add(fb.Value.Metrics["loss:sum"]);
            await training.OptimStepAsync(WaitUntil.Completed, new AdamParams { LearningRate = 2e-2 });
        }

        Assert.True(losses[^1] < losses[0] * 0.8, $"loss did not fall: {string.Join(", ", losses)}");

        var saved = await training.SaveStateAsync(WaitUntil.Completed, "step-8");
        Assert.Equal($"tinker://{training.ModelId}/weights/step-8", saved.Value.Path);
        var sampler = await training.SaveWeightsAndGetSamplingClientAsync("final");
        var prompt = ModelInput.FromInts(ids.Take(ids.Count - 2));
        var sample = await sampler.SampleAsync(WaitUntil.Completed, prompt, 1, new SamplingParams { MaxTokens = 6, Temperature = 0, Seed = 3 });
        var tokens = sample.Value.Sequences[0].Tokens;
        Assert.InRange(tokens.Count, 1, 6);
        Assert.All(tokens, t => Assert.InRange(t, 0, 128_255));
        Assert.NotNull(tokenizer.Decode(tokens));

        string peft = Path.Combine(_home.Path, "peft");
        await backend.ExportPeftAsync(saved.Value.Path, peft);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(peft, "adapter_config.json")));
        Assert.Equal(4, config.RootElement.GetProperty("r").GetInt32());
        Assert.Contains("q_proj", config.RootElement.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
        Assert.True(new FileInfo(Path.Combine(peft, "adapter_model.safetensors")).Length > 0);
    }

    [Fact]
    public async Task ModelFolder_TokenizerLoadsWithoutWeights()
    {
        string folder = WriteTinyLlama3Folder(Path.Combine(_home.Path, "tokenizer-only"), withWeights: false);
        await using var backend = new LocalBackend(new LocalBackendOptions
        {
            HomeDirectory = Path.Combine(_home.Path, "home"),
            ModelDirectories = new Dictionary<string, string> { [ModelName] = folder },
        });

        var tokenizer = await backend.GetTokenizerAsync(ModelName);

        Assert.Equal(ModelName, tokenizer.Name);
        Assert.Equal([9906, 1917], tokenizer.Encode("Hello world"));
        Assert.False(File.Exists(Path.Combine(folder, "model.safetensors")));
    }

    /// <summary>Writes config.json (Llama 3 architecture, tiny), random weights and the real Llama 3 tokenizer files.</summary>
    private static string WriteTinyLlama3Folder(string folder, bool withWeights)
    {
        Directory.CreateDirectory(folder);
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["model_type"] = "llama",
            ["vocab_size"] = 128_256,
            ["hidden_size"] = 32,
            ["intermediate_size"] = 64,
            ["num_hidden_layers"] = 2,
            ["num_attention_heads"] = 4,
            ["num_key_value_heads"] = 2,
            ["head_dim"] = 8,
            ["hidden_act"] = "silu",
            ["max_position_embeddings"] = 256,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = 500_000.0,
            ["rope_scaling"] = new JsonObject
            {
                ["factor"] = 8.0, ["high_freq_factor"] = 4.0, ["low_freq_factor"] = 1.0,
                ["original_max_position_embeddings"] = 64, ["rope_type"] = "llama3",
            },
            ["attention_bias"] = false,
            ["mlp_bias"] = false,
            ["tie_word_embeddings"] = true,
            ["bos_token_id"] = 128_000,
            ["eos_token_id"] = 128_001,
        };
        string configJson = config.ToJsonString();
        if (withWeights)
        {
            var model = new CausalLm(TransformerConfig.Parse(configJson));
            model.InitializeWeights(seed: 12);
            HfModelWriter.Save(model, folder);
            model.Dispose();
        }

        File.WriteAllText(Path.Combine(folder, "config.json"), configJson);
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizers", "llama3");
        using (var gzip = new GZipStream(File.OpenRead(Path.Combine(fixtures, "tokenizer.json.gz")), CompressionMode.Decompress))
        using (var output = File.Create(Path.Combine(folder, "tokenizer.json")))
        {
            gzip.CopyTo(output);
        }

        File.Copy(Path.Combine(fixtures, "tokenizer_config.json"), Path.Combine(folder, "tokenizer_config.json"));
        return folder;
    }
}
