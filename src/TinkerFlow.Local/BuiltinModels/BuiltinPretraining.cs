using TinkerFlow.Local.Model;
using TinkerFlow.Local.Training;
using TinkerFlow.Local.Weights;
using static TorchSharp.torch;

namespace TinkerFlow.Local.BuiltinModels;

/// <summary>
/// Produces the shipped weights of a built-in model: full-parameter training from the deterministic seeded
/// initialisation on <see cref="PretrainingCorpus"/>. Regenerate with
/// <c>dotnet run -c Release --project tools/PretrainBuiltin -- --out src/TinkerFlow.Local/BuiltinModels/tiny-qwen3</c>.
/// </summary>
internal static class BuiltinPretraining
{
    /// <summary>Settings of one pretraining run (defaults produce the shipped weights).</summary>
    public sealed record Settings
    {
        public int Steps { get; init; } = 1500;

        public int BatchSize { get; init; } = 64;

        public int SequenceLength { get; init; } = 128;

        public double PeakLearningRate { get; init; } = 2e-3;

        public int WarmupSteps { get; init; } = 50;

        public double WeightDecay { get; init; } = 0.01;

        public int CorpusSeed { get; init; } = 7;

        public long InitSeed { get; init; } = Engine.BaseModelRegistry.BuiltinInitSeed;
    }

    /// <summary>Trains and writes <c>model.safetensors</c> into <paramref name="outputDirectory"/>.</summary>
    /// <returns>Mean loss of the first and last 20 steps.</returns>
    public static (double FirstLoss, double LastLoss) Run(string name, string outputDirectory, Settings settings, Action<int, double>? progress = null)
    {
        if (!BuiltinModelCatalog.TryGet(name, out var assets))
        {
            throw new ArgumentException($"'{name}' is not a built-in model.", nameof(name));
        }

        var config = TransformerConfig.Parse(assets.ConfigJson, $"{name}/config.json");
        using var model = new CausalLm(config);
        model.InitializeWeights(settings.InitSeed);
        model.SetTrainable(true);
        model.train();
        using var optimizer = AdamW.ForTrainableParameters(model);
        var tokenizer = assets.Tokenizer;
        var eos = tokenizer.TokenToId("<|endoftext|>") ?? tokenizer.EosTokenId;
        using var documents = PretrainingCorpus.Documents(settings.CorpusSeed).GetEnumerator();
        var buffer = new List<long>();
        var losses = new List<double>();
        var window = settings.SequenceLength + 1;

        for (var step = 0; step < settings.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var batch = new long[settings.BatchSize * window];
            for (var row = 0; row < settings.BatchSize; row++)
            {
                while (buffer.Count < window)
                {
                    documents.MoveNext();
                    buffer.AddRange(tokenizer.Encode(documents.Current, parseSpecialTokens: false).Select(t => (long)t));
                    buffer.Add(eos);
                }

                buffer.CopyTo(0, batch, row * window, window);
                buffer.RemoveRange(0, window);
            }

            var tokens = tensor(batch).reshape(settings.BatchSize, window);                                     // (B, T+1)
            var inputs = tokens[TensorIndex.Colon, TensorIndex.Slice(0, settings.SequenceLength)];              // (B, T)
            var targets = tokens[TensorIndex.Colon, TensorIndex.Slice(1, window)];                              // (B, T)
            var logits = model.forward(inputs);                                                                  // (B, T, V)
            var loss = nn.functional.cross_entropy(logits.reshape(-1, config.VocabSize), targets.reshape(-1));
            loss.backward();
            var lr = LearningRate(step, settings);
            optimizer.Step(new AdamWHyperparameters(LearningRate: lr, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: settings.WeightDecay, GradClipNorm: 1.0));
            var value = loss.item<float>();
            losses.Add(value);
            progress?.Invoke(step, value);
        }

        model.eval();
        model.SetTrainable(false);
        // HfModelWriter also writes config.json; keep the shipped config and take only the weights.
        var temp = Directory.CreateTempSubdirectory("tinkerflow-pretrain-").FullName;
        try
        {
            HfModelWriter.Save(model, temp);
            Directory.CreateDirectory(outputDirectory);
            File.Copy(Path.Combine(temp, HfModelLoader.SingleFileName), Path.Combine(outputDirectory, HfModelLoader.SingleFileName), overwrite: true);
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
        return (losses.Take(20).Average(), losses.TakeLast(20).Average());
    }

    /// <summary>Linear warm-up, then cosine decay to 10% of the peak.</summary>
    private static double LearningRate(int step, Settings s)
    {
        if (step < s.WarmupSteps)
        {
            return s.PeakLearningRate * (step + 1) / s.WarmupSteps;
        }

        var progress = (double)(step - s.WarmupSteps) / Math.Max(1, s.Steps - s.WarmupSteps);
        return s.PeakLearningRate * (0.1 + (0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress))));
    }
}
