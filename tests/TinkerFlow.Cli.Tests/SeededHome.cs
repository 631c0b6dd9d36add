using TinkerFlow.Local;
using TinkerFlow.Types;

namespace TinkerFlow.Cli.Tests;

/// <summary>
/// A throw-away TINKERFLOW_HOME with one trained run in it, made through the library: three AdamW steps on a tiny
/// memorisation batch, then a training checkpoint <c>weights/step-3</c> and sampler weights <c>sampler_weights/s-3</c>.
/// </summary>
internal sealed class SeededHome : IAsyncDisposable
{
    public const string Model = "tinkerflow/tiny-qwen3";

    private SeededHome(string path) => Path = path;

    public string Path { get; }

    public string RunId { get; private set; } = "";

    public string StatePath { get; private set; } = "";

    public string SamplerPath { get; private set; } = "";

    public CliHarness Cli => new(Path);

    public static async Task<SeededHome> CreateAsync(int extraSamplerCheckpoints = 0)
    {
        var home = new SeededHome(Directory.CreateTempSubdirectory("tinkerflow-cli-test-").FullName);
        await using var backend = home.OpenBackend();
        await using var service = new ServiceClient(backend);
        var client = await service.CreateLoraTrainingClientAsync(Model, rank: 4, seed: 7);
        var tokenizer = await client.GetTokenizerAsync();
        var data = new[] { "the cat sat on the mat", "a b c d e f g" }.Select(t => TextDatum(tokenizer, t)).ToList();
        for (var step = 0; step < 3; step++)
        {
            await client.ForwardBackwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy);
            await client.OptimStepAsync(WaitUntil.Completed, new AdamParams { LearningRate = 0.02 });
        }

        home.RunId = client.ModelId;
        home.StatePath = (await client.SaveStateAsync(WaitUntil.Completed, "step-3")).Value.Path;
        home.SamplerPath = (await client.SaveWeightsForSamplerAsync(WaitUntil.Completed, "s-3")).Value.Path!;
        for (var i = 0; i < extraSamplerCheckpoints; i++)
        {
            await client.SaveWeightsForSamplerAsync(WaitUntil.Completed, $"extra-{i}");
        }

        return home;
    }

    /// <summary>An engine on this home (the caller disposes it); <paramref name="models"/> registers extra base models.</summary>
    public LocalBackend OpenBackend(IReadOnlyDictionary<string, string>? models = null) =>
        new(new LocalBackendOptions { HomeDirectory = Path, ModelDirectories = models ?? new Dictionary<string, string>() });

    /// <summary>The log-probabilities of every token of <paramref name="text"/> under the sampler on <paramref name="modelPath"/> (or a base model).</summary>
    public async Task<double[]> LogprobsAsync(string text, string? modelPath = null, string? baseModel = null, IReadOnlyDictionary<string, string>? models = null)
    {
        await using var backend = OpenBackend(models);
        await using var service = new ServiceClient(backend);
        var sampler = await service.CreateSamplingClientAsync(modelPath: modelPath, baseModel: baseModel);
        var tokenizer = await sampler.GetTokenizerAsync();
        var logprobs = await sampler.ComputeLogprobsAsync(ModelInput.FromInts(tokenizer.Encode(text)));
        return logprobs.Skip(1).Select(l => l!.Value).ToArray();
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    private static Datum TextDatum(TinkerTokenizer tokenizer, string text)
    {
        var ids = tokenizer.Encode(text);
        return Datum.Create(
            ModelInput.FromInts(ids.Take(ids.Count - 1)),
            new Dictionary<string, object>
            {
                ["target_tokens"] = ids.Skip(1).ToArray(),
                ["weights"] = Enumerable.Repeat(1f, ids.Count - 1).ToArray(),
            });
    }
}
