using TinkerFlow.Recipes.Dpo;
using TinkerFlow.Types;
using TorchSharp;

namespace TinkerFlow.Torch.Tests;

/// <summary>
/// ForwardBackwardCustomAsync against a real backend; <see cref="EmbeddedTorchLossTests"/> and
/// <see cref="HttpTorchLossTests"/> run the same facts on the embedded engine and over HTTP.
/// </summary>
public abstract class TorchLossBackendSuite : IAsyncLifetime
{
    private Backend? _backend;

    private ServiceClient Service => _backend?.Service ?? throw new InvalidOperationException("Not initialised.");

    private protected abstract Task<Backend> CreateBackendAsync();

    public async Task InitializeAsync() => _backend = await CreateBackendAsync();

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }

    private Task<TrainingClient> NewClientAsync(int seed = 3) => Service.CreateLoraTrainingClientAsync(Backend.Model, rank: 8, seed: seed);

    private static async Task<List<float[]>> LogprobsAsync(TrainingClient client, IReadOnlyList<Datum> data) =>
        [.. (await client.ForwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy)).Value.LossFnOutputs.Select(o => o["logprobs"].ToFloat32Array())];

    /// <summary>Σ_t w_t·(−logp_t) over the batch: the built-in cross_entropy, written as a TorchSharp loss.</summary>
    private static TorchLossResult WeightedCrossEntropy(IReadOnlyList<Datum> data, IReadOnlyList<torch.Tensor> logprobs) =>
        new(torch.stack(logprobs.Select((lp, i) => -(lp * data[i].LossFnInputs["weights"].ToTorch()).sum())).sum());

    [Fact]
    public async Task WeightedCrossEntropyAsCustomLoss_TakesTheSameStepAsTheBuiltIn()
    {
        var rng = new Random(11);
        var data = Enumerable.Range(0, 4).Select(_ => TestData.Sequence(rng, rng.Next(5, 12), prompt: 2, weight: () => (float)rng.NextDouble())).ToList();
        var builtIn = await NewClientAsync();
        var custom = await NewClientAsync();
        var adam = new AdamParams { LearningRate = 1e-2 };
        var initial = await LogprobsAsync(builtIn, data);

        for (var step = 0; step < 3; step++)
        {
            var expected = await builtIn.ForwardBackwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy);
            await builtIn.OptimStepAsync(WaitUntil.Completed, adam);
            var actual = await custom.ForwardBackwardCustomAsync(WaitUntil.Completed, data, WeightedCrossEntropy);
            await custom.OptimStepAsync(WaitUntil.Completed, adam);
            Assert.Equal(expected.Value.Metrics["loss:sum"], actual.Value.Metrics["custom_loss"], 3);
        }

        var afterBuiltIn = await LogprobsAsync(builtIn, data);
        var afterCustom = await LogprobsAsync(custom, data);
        for (var i = 0; i < data.Count; i++)
        {
            Assert.True(TestData.MaxAbsDiff(afterBuiltIn[i], afterCustom[i]) <= 1e-5, $"datum {i}: max |Δlogprob| {TestData.MaxAbsDiff(afterBuiltIn[i], afterCustom[i]):G3}");
        }

        Assert.True(data.Select((_, i) => TestData.MaxAbsDiff(initial[i], afterBuiltIn[i])).Max() > 1e-2, "the three steps moved the logprobs");
    }

    [Fact]
    public async Task DpoTorchLoss_SendsTheHandDerivedGradientsAndLowersTheLoss()
    {
        const double Beta = 0.5;
        var rng = new Random(12);
        var client = new RecordingTrainingClient(await NewClientAsync());
        var plain = TestData.PreferencePairs(rng, 6);
        var data = TestData.WithReferenceScores(rng, plain, await LogprobsAsync(client, plain));
        List<float[]>? seen = null;

        var result = await client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, (d, lps) =>
        {
            seen = [.. lps.Select(lp => lp.ToTensorData().ToFloat32Array())];
            return DpoLoss.Compute(d, lps, Beta);
        });

        var (expectedLoss, expected) = HandDerivedDpo.Compute(data, seen!, Beta);
        var sent = Assert.Single(client.ForwardBackwards);
        for (var i = 0; i < data.Count; i++)
        {
            var gradient = sent[i].LossFnInputs["weights"].ToFloat32Array().Select(w => -w).ToArray();
            Assert.True(TestData.MaxAbsDiff(expected[i], gradient) <= 1e-6, $"datum {i}: max |Δgradient| {TestData.MaxAbsDiff(expected[i], gradient):G3}");
        }

        Assert.True(expected.SelectMany(g => g).Max(Math.Abs) > 1e-3, "the reference gradients are not trivially zero");
        Assert.Equal(expectedLoss, result.Value.Metrics["custom_loss"], 5);
        Assert.Equal(expectedLoss, result.Value.Metrics["dpo_loss"], 5);

        await client.OptimStepAsync(WaitUntil.Completed, new AdamParams { LearningRate = 1e-2 });
        var after = await client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, DpoLoss.Create(Beta));
        Assert.True(after.Value.Metrics["dpo_loss"] < expectedLoss - 0.01, $"dpo_loss {expectedLoss:F4} → {after.Value.Metrics["dpo_loss"]:F4} after one step");
    }

    [Fact]
    public async Task ExtraLossInputs_ReachTheLossButNeitherRequest()
    {
        var rng = new Random(13);
        var client = new RecordingTrainingClient(await NewClientAsync());
        var data = Enumerable.Range(0, 3).Select(i =>
        {
            var d = TestData.Sequence(rng, 6);
            return d with
            {
                LossFnInputs = new Dictionary<string, TensorData>(d.LossFnInputs)
                {
                    ["advantages"] = TensorData.FromFloat32(new float[6]),
                    ["pair_id"] = TensorData.FromInt64([i / 2]),
                    ["reference_logprobs"] = TensorData.FromFloat32([.. Enumerable.Repeat(-1.5f, 12)], [6, 2]),
                },
            };
        }).ToList();
        var seenKeys = new List<string[]>();
        var seenReference = new List<long[]>();

        await client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, (d, lps) =>
        {
            seenKeys.AddRange(d.Select(x => x.LossFnInputs.Keys.Order().ToArray()));
            seenReference.AddRange(d.Select(x => x.LossFnInputs["reference_logprobs"].ToTorch().shape));
            return new TorchLossResult(torch.stack(lps.Select((lp, i) => (lp * d[i].LossFnInputs["advantages"].ToTorch()).sum())).sum());
        });

        Assert.All(seenKeys, k => Assert.Equal(["advantages", "pair_id", "reference_logprobs", "target_tokens", "weights"], k));
        Assert.All(seenReference, s => Assert.Equal([6L, 2], s));
        var requests = client.Forwards.Concat(client.ForwardBackwards).ToList();
        Assert.Equal(2, requests.Count);
        Assert.All(requests.SelectMany(r => r), d => Assert.Equal(["target_tokens", "weights"], d.LossFnInputs.Keys.Order()));
        Assert.All(client.Forwards.Single(), d => Assert.All(d.LossFnInputs["weights"].ToFloat32Array(), w => Assert.Equal(0f, w)));
        Assert.Equal(data.Select(d => d.LossFnInputs["target_tokens"]), client.ForwardBackwards.Single().Select(d => d.LossFnInputs["target_tokens"]));
    }

    [Fact]
    public async Task LossValueAndMetrics_AppearInTheOutputMetrics()
    {
        var rng = new Random(14);
        var client = await NewClientAsync();
        var data = new List<Datum> { TestData.Sequence(rng, 7), TestData.Sequence(rng, 4) };
        var expected = (await LogprobsAsync(client, data)).Sum(lp => lp.Sum(x => (double)x)) / 11;

        var output = await client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, (_, lps) =>
            new TorchLossResult(torch.cat([.. lps]).mean(), new Dictionary<string, double> { ["my_metric"] = 7, ["tokens"] = lps.Sum(lp => lp.numel()) }));

        Assert.Equal(expected, output.Value.Metrics["custom_loss"], 4);
        Assert.Equal(7, output.Value.Metrics["my_metric"]);
        Assert.Equal(11, output.Value.Metrics["tokens"]);
        Assert.True(output.Value.Metrics.ContainsKey("loss:sum"), "the backend's own metrics are kept");
    }

    [Fact]
    public async Task MissingTargetTokens_IsAnArgumentErrorAndNothingIsSent()
    {
        var client = new RecordingTrainingClient(await NewClientAsync());
        var data = new List<Datum>
        {
            TestData.Sequence(new Random(1), 4),
            new() { ModelInput = ModelInput.FromInts([5, 6, 7]), LossFnInputs = new Dictionary<string, TensorData> { ["weights"] = TensorData.FromFloat32([1f, 1f, 1f]) } },
        };

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, (_, lps) => new TorchLossResult(lps[0].sum())));

        Assert.Contains("data[1] has no target_tokens", ex.Message, StringComparison.Ordinal);
        Assert.Empty(client.Forwards);
        Assert.Empty(client.ForwardBackwards);
    }

    [Fact]
    public async Task BadLoss_FailsAfterTheForwardPassAndSendsNoBackward()
    {
        var client = new RecordingTrainingClient(await NewClientAsync());
        var data = new List<Datum> { TestData.Sequence(new Random(2), 5) };

        var notScalar = await Assert.ThrowsAsync<InvalidOperationException>(() => client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, (_, lps) => new TorchLossResult(lps[0])));
        var notConnected = await Assert.ThrowsAsync<InvalidOperationException>(() => client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, (_, _) => new TorchLossResult(torch.tensor(1f))));
        var notFinite = await Assert.ThrowsAsync<InvalidOperationException>(() => client.ForwardBackwardCustomAsync(WaitUntil.Completed, data, (_, lps) => new TorchLossResult((lps[0] * float.NaN).sum())));

        Assert.Contains("must be a scalar", notScalar.Message, StringComparison.Ordinal);
        Assert.Contains("does not depend on the logprobs", notConnected.Message, StringComparison.Ordinal);
        Assert.Contains("NaN", notFinite.Message, StringComparison.Ordinal);
        Assert.Equal(3, client.Forwards.Count);
        Assert.Empty(client.ForwardBackwards);
    }
}

[Collection("Torch")]
public sealed class EmbeddedTorchLossTests : TorchLossBackendSuite
{
    private protected override Task<Backend> CreateBackendAsync() => Task.FromResult(Backend.Embedded());
}

[Collection("Torch")]
public sealed class HttpTorchLossTests : TorchLossBackendSuite
{
    private protected override Task<Backend> CreateBackendAsync() => Backend.HttpAsync();
}
