using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Training;
using TinkerFlow.Local.Weights;
using TinkerFlow.Types;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Training;

/// <summary>
/// The engine's forward_backward (chunked LM head, optional activation checkpointing) against the unchunked computation
/// it replaced: full [B, T, V] logits → <see cref="TinkerLosses.ComputeBatch"/> → one backward. On the tiny Qwen3 and
/// Llama parity fixtures, for all five losses, padded batches and soft targets: logprobs and per-token losses within
/// 1e-5, adapter gradients within 1e-5 (relative to the largest gradient when that exceeds 1), and the adapters after one
/// AdamW step within 1e-6.
/// </summary>
[Collection("Torch")]
public sealed class ChunkedTrainingParityTests(ITestOutputHelper output)
{
    private const double OutputTolerance = 1e-5;
    private const double GradientTolerance = 1e-5;
    private const double StepTolerance = 1e-6;

    // Three rows per chunk on the fixtures' vocabulary, so every batch spans several chunks and chunk edges cut datums.
    private const int ChunkRows = 3;

    public static TheoryData<string, string> LossesAndFixtures()
    {
        var data = new TheoryData<string, string>();
        foreach (var fixture in new[] { "qwen3", "llama" })
        {
            foreach (var loss in TinkerLosses.Names)
            {
                data.Add(fixture, loss);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(LossesAndFixtures))]
    public void ForwardBackward_ChunkedHeadMatchesFullLogits(string fixture, string lossFn)
    {
        Compare(fixture, lossFn, [9, 6, 9], ActivationCheckpointing.Never);
    }

    [Theory]
    [InlineData("qwen3", ActivationCheckpointing.Always)]
    [InlineData("llama", ActivationCheckpointing.Always)]
    [InlineData("qwen3", ActivationCheckpointing.Auto)]
    public void ForwardBackward_CheckpointedLayersMatchUncheckpointedGradients(string fixture, ActivationCheckpointing mode)
    {
        // Auto with a budget of one byte checkpoints every layer; Always does so by option.
        Compare(fixture, TinkerLosses.Ppo, [8, 5], mode, budget: 1);
        Compare(fixture, TinkerLosses.CrossEntropy, [7, 7], mode, budget: 1);
    }

    [Fact]
    public void ForwardBackward_PartialCheckpointingMatchesFullLogits()
    {
        using var model = LoadFixture("qwen3");
        // The budget for exactly one stored layer: the first layer is checkpointed, the second keeps its graph.
        long budget = TrainingMemoryEstimate.ActivationBytes(model.Config, 4, 2, 8, padded: true, checkpointedLayers: 1);
        Assert.Equal(1, TrainingMemoryEstimate.CheckpointedLayers(model.Config, 4, 2, 8, padded: true, ActivationCheckpointing.Auto, budget));
        Compare("qwen3", TinkerLosses.Dro, [8, 6], ActivationCheckpointing.Auto, budget);
    }

    [Fact]
    public void ForwardBackward_SoftTargetsMixedWithHardTargetsMatchFullLogits()
    {
        Compare("qwen3", TinkerLosses.CrossEntropy, [6, 5], ActivationCheckpointing.Never, softDatum: 1);
    }

    [Fact]
    public void Forward_WithoutBackwardMatchesFullLogitsAndLeavesNoGradient()
    {
        using var model = LoadFixture("llama");
        using var scope = NewDisposeScope();
        var input = Request(model.Config, TinkerLosses.ImportanceSampling, [5, 8], softDatum: null);
        using var chunked = Adapter(model);
        var reference = Reference(model, chunked, input, backward: false);
        var engine = Engine(model, chunked, input, backward: false, ActivationCheckpointing.Never, 0);
        AssertOutputs(reference.Outputs, engine.Outputs, "forward");
        Assert.All(chunked.Parameters(), p => Assert.Null(p.grad));
    }

    private void Compare(string fixture, string lossFn, int[] lengths, ActivationCheckpointing mode, long budget = TrainingSettings.DefaultActivationBudgetBytes, int? softDatum = null)
    {
        using var model = LoadFixture(fixture);
        using var scope = NewDisposeScope();
        var input = Request(model.Config, lossFn, lengths, softDatum);

        using var expectedAdapter = Adapter(model);
        using var actualAdapter = Adapter(model);
        var reference = Reference(model, expectedAdapter, input, backward: true);
        var engine = Engine(model, actualAdapter, input, backward: true, mode, budget);

        AssertOutputs(reference.Outputs, engine.Outputs, $"{fixture}/{lossFn}");
        Assert.Equal(reference.LossSum, engine.LossSum, 1e-4);

        double gradientDiff = 0, largest = 0;
        var expected = expectedAdapter.Tensors;
        foreach (var (name, actual) in actualAdapter.Tensors)
        {
            var e = expected[name].grad!;
            gradientDiff = Math.Max(gradientDiff, (actual.grad! - e).abs().max().item<float>());
            largest = Math.Max(largest, e.abs().max().item<float>());
        }

        // One AdamW step from these gradients.
        using var expectedAdam = new AdamW(expectedAdapter.Tensors.Select(kv => (kv.Key, (Tensor)kv.Value)));
        using var actualAdam = new AdamW(actualAdapter.Tensors.Select(kv => (kv.Key, (Tensor)kv.Value)));
        var hyper = new AdamWHyperparameters(LearningRate: 1e-3);
        expectedAdam.Step(hyper);
        actualAdam.Step(hyper);
        double stepDiff = 0;
        foreach (var (name, actual) in actualAdapter.Tensors)
        {
            stepDiff = Math.Max(stepDiff, (actual - expected[name]).abs().max().item<float>());
        }

        output.WriteLine($"{fixture}/{lossFn} {mode}: max |Δgrad| {gradientDiff:E2} (largest gradient {largest:E2}), max |Δparam| after AdamW {stepDiff:E2}");
        Assert.True(largest > 1e-3, "the test adapter should receive real gradients");
        Assert.True(gradientDiff <= GradientTolerance * Math.Max(1, largest), $"gradients differ by {gradientDiff} (largest {largest})");
        Assert.True(stepDiff <= StepTolerance, $"parameters after one AdamW step differ by {stepDiff}");
    }

    private void AssertOutputs(IReadOnlyList<(Tensor Logprobs, Tensor Elementwise)> expected, IReadOnlyList<(Tensor Logprobs, Tensor Elementwise)> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        double lpDiff = 0, lossDiff = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Logprobs.shape, actual[i].Logprobs.shape);
            Assert.Equal(expected[i].Elementwise.shape, actual[i].Elementwise.shape);
            lpDiff = Math.Max(lpDiff, (expected[i].Logprobs - actual[i].Logprobs).abs().max().item<float>());
            lossDiff = Math.Max(lossDiff, (expected[i].Elementwise - actual[i].Elementwise).abs().max().item<float>());
        }

        output.WriteLine($"{what}: max |Δlogprobs| {lpDiff:E2}, max |Δelementwise_loss| {lossDiff:E2}");
        Assert.True(lpDiff <= OutputTolerance, $"logprobs differ by {lpDiff}");
        Assert.True(lossDiff <= OutputTolerance, $"elementwise losses differ by {lossDiff}");
    }

    /// <summary>The computation before the chunked head: full logits, <see cref="TinkerLosses.ComputeBatch"/>, one backward.</summary>
    private static Result Reference(CausalLm model, LoraAdapter adapter, ForwardBackwardInput input, bool backward)
    {
        using var grad = backward ? enable_grad() : no_grad();
        var tokens = input.Data.Select(d => d.ModelInput.ToInts().Select(t => (long)t).ToArray()).ToArray();
        var lengths = tokens.Select(t => t.Length).ToList();
        int maxLen = lengths.Max();
        var ids = zeros(tokens.Length, maxLen, ScalarType.Int64);
        var mask = zeros(tokens.Length, maxLen, ScalarType.Int64);
        for (int b = 0; b < tokens.Length; b++)
        {
            ids[b, TensorIndex.Slice(0, lengths[b])] = tensor(tokens[b]);
            mask[b, TensorIndex.Slice(0, lengths[b])] = ones(lengths[b], ScalarType.Int64);
        }

        var logits = model.forward(ids, lengths.Any(l => l != maxLen) ? mask : null, null, adapter);
        var inputs = input.Data.Select(d => (IReadOnlyDictionary<string, Tensor>)TrainingComputation.ToTensors(d.LossFnInputs)).ToList();
        var result = TinkerLosses.ComputeBatch(input.LossFn, logits, lengths, inputs, input.LossFnConfig);
        if (backward)
        {
            result.Loss.backward();
        }

        return new Result([.. result.Datums.Select(d => (d.Logprobs, d.ElementwiseLoss))], result.Metrics[TinkerLosses.LossSumMetric]);
    }

    /// <summary>The engine's forward_backward (<see cref="TrainingComputation.Run"/>) with a small LM-head chunk.</summary>
    private static Result Engine(CausalLm model, LoraAdapter adapter, ForwardBackwardInput input, bool backward, ActivationCheckpointing mode, long budget)
    {
        var baseModel = new BaseModel("fixture", model, null!, "test");
        var loraConfig = new LoraConfig { Rank = adapter.Options.Rank, TrainAttn = true, TrainMlp = true, TrainUnembed = true };
        var training = new TrainingModel("m", "o", "s", baseModel, loraConfig, adapter, TimeSpan.FromSeconds(1));
        try
        {
            var settings = new TrainingSettings(16_384, mode, budget, ChunkRows * (long)model.Config.VocabSize);
            var result = TrainingComputation.Run(training, input, backward, settings);
            var outputs = result.LossFnOutputs.Select(o => (ToTensor(o["logprobs"]), ToTensor(o["elementwise_loss"]))).ToList();
            return new Result(outputs, result.Metrics[TinkerLosses.LossSumMetric]);
        }
        finally
        {
            training.Executor.Dispose();
            training.Optimizer.Dispose();
        }
    }

    private static Tensor ToTensor(TensorData data) => tensor(data.ToFloat32Array()).reshape([.. data.Shape!]);

    private static CausalLm LoadFixture(string name) =>
        HfModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "parity", name));

    /// <summary>A rank-4 adapter on every projection (lm_head included) with nonzero lora_B, so every parameter gets a gradient.</summary>
    private static LoraAdapter Adapter(CausalLm model)
    {
        var adapter = LoraAdapter.Create(model, new LoraAdapterOptions
        {
            Rank = 4,
            Alpha = 8,
            TargetModules = LoraAdapterOptions.Targets(trainAttn: true, trainMlp: true, trainUnembed: true),
            Seed = 7,
        });
        using var generator = new torch.Generator(11, CPU);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in adapter.Tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (name.Contains("lora_B", StringComparison.Ordinal))
            {
                parameter.normal_(0, 0.05, generator);
            }
        }

        return adapter;
    }

    /// <summary>Datums of the given lengths with every input the loss accepts (per-token clips for ppo/cispo).</summary>
    private static ForwardBackwardInput Request(TransformerConfig config, string lossFn, int[] lengths, int? softDatum)
    {
        var random = new Random(3);
        var data = new List<Datum>();
        for (int d = 0; d < lengths.Length; d++)
        {
            int n = lengths[d];
            var ids = Enumerable.Range(0, n).Select(_ => random.Next(config.VocabSize)).ToArray();
            var inputs = new Dictionary<string, TensorData>();
            if (softDatum == d)
            {
                const int k = 3;
                inputs["target_tokens"] = TensorData.FromInt64([.. Enumerable.Range(0, n * k).Select(_ => (long)random.Next(config.VocabSize))], [n, k]);
                inputs["weights"] = TensorData.FromFloat32([.. Enumerable.Range(0, n * k).Select(_ => (float)random.NextDouble())], [n, k]);
            }
            else
            {
                inputs["target_tokens"] = TensorData.FromInt64([.. Enumerable.Range(0, n).Select(_ => (long)random.Next(config.VocabSize))]);
                inputs["weights"] = TensorData.FromFloat32([.. Enumerable.Range(0, n).Select(i => i % 4 == 0 ? 0f : 1f)]);
            }

            if (lossFn != TinkerLosses.CrossEntropy)
            {
                inputs["logprobs"] = TensorData.FromFloat32([.. Enumerable.Range(0, n).Select(_ => (float)(-1 - 3 * random.NextDouble()))]);
                inputs["advantages"] = TensorData.FromFloat32([.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1))]);
            }

            if (lossFn is TinkerLosses.Ppo or TinkerLosses.Cispo && d == 0)
            {
                inputs["clip_low_threshold"] = TensorData.FromFloat32([.. Enumerable.Repeat(0.5f, n)]);
            }

            data.Add(new Datum { ModelInput = ModelInput.FromInts(ids), LossFnInputs = inputs });
        }

        return new ForwardBackwardInput { Data = data, LossFn = lossFn };
    }

    private sealed record Result(IReadOnlyList<(Tensor Logprobs, Tensor Elementwise)> Outputs, double LossSum);
}
