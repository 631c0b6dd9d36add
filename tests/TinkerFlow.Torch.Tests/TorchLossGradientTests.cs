using TinkerFlow.Recipes.Dpo;
using TinkerFlow.Types;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Torch.Tests;

/// <summary>The autograd half of ForwardBackwardCustomAsync, on given log-probabilities (no backend).</summary>
[Collection("Torch")]
public sealed class TorchLossGradientTests
{
    private static (List<Datum> Data, List<TensorData> Logprobs) Batch(int seed, int pairs)
    {
        var rng = new Random(seed);
        var data = TestData.PreferencePairs(rng, pairs);
        var logprobs = data.Select(d => Enumerable.Range(0, d.ModelInput.Length).Select(_ => (float)(-6 * rng.NextDouble())).ToArray()).ToList();
        return (TestData.WithReferenceScores(rng, data, logprobs), [.. logprobs.Select(lp => TensorData.FromFloat32(lp))]);
    }

    [Theory]
    [InlineData(1, 1, 0.1)]
    [InlineData(2, 16, 0.1)]
    [InlineData(3, 16, 1.0)]
    [InlineData(4, 64, 0.5)]
    public void DpoTorchLoss_GradientsEqualTheHandDerivedOnes(int seed, int pairs, double beta)
    {
        var (data, logprobs) = Batch(seed, pairs);

        var torchResult = TrainingClientTorchExtensions.Gradients(data, logprobs, DpoLoss.Create(beta));
        var (expectedLoss, expected) = HandDerivedDpo.Compute(data, [.. logprobs.Select(l => l.ToFloat32Array())], beta);

        Assert.Equal(expected.Length, torchResult.Gradients.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(TestData.MaxAbsDiff(expected[i], torchResult.Gradients[i]) <= 1e-6, $"datum {i}: {string.Join(",", expected[i])} vs {string.Join(",", torchResult.Gradients[i])}");
        }

        Assert.True(expected.SelectMany(g => g).Max(Math.Abs) > 1e-4, "the reference gradients are not trivially zero");
        Assert.Equal(expectedLoss, torchResult.Loss, 5);
        Assert.Equal(expectedLoss, torchResult.Metrics!["dpo_loss"], 5);
        Assert.Equal(pairs, torchResult.Metrics["num_pairs"]);
    }

    [Fact]
    public void LogprobLeaves_AreFloat32GradientLeavesShapedLikeTheTargets()
    {
        var data = new List<Datum> { TestData.Sequence(new Random(1), 4) };
        var logprobs = new List<TensorData> { TensorData.FromFloat32([-1f, -2f, -3f, -4f], [4]) };
        Tensor? seen = null;

        var result = TrainingClientTorchExtensions.Gradients(data, logprobs, (_, lps) =>
        {
            seen = lps[0];
            Assert.True(lps[0].is_leaf);
            Assert.True(lps[0].requires_grad);
            Assert.Equal(ScalarType.Float32, lps[0].dtype);
            Assert.Equal([4L], lps[0].shape);
            return new TorchLossResult((lps[0] * lps[0]).sum() / 2);
        });

        Assert.Equal([-1f, -2f, -3f, -4f], result.Gradients[0]);            // ∂(Σ x²/2)/∂x = x
        Assert.Equal(15, result.Loss, 6);
        Assert.True(seen!.IsInvalid, "the leaf tensor was disposed with the call's scope");
    }

    [Fact]
    public void NonScalarLoss_IsRejectedWithItsShape()
    {
        var (data, logprobs) = Batch(1, 1);

        var ex = Assert.Throws<InvalidOperationException>(() => TrainingClientTorchExtensions.Gradients(data, logprobs, (_, lps) => new TorchLossResult(lps[0] * 2)));

        Assert.Contains("must be a scalar", ex.Message, StringComparison.Ordinal);
        Assert.Contains(".sum() or .mean()", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LossNotConnectedToTheLogprobs_IsRejected()
    {
        var (data, logprobs) = Batch(1, 1);

        var constant = Assert.Throws<InvalidOperationException>(() => TrainingClientTorchExtensions.Gradients(data, logprobs, (_, _) => new TorchLossResult(torch.tensor(0.5f))));
        var detached = Assert.Throws<InvalidOperationException>(() => TrainingClientTorchExtensions.Gradients(data, logprobs, (_, lps) => new TorchLossResult(lps[0].detach().sum())));

        Assert.Contains("does not depend on the logprobs", constant.Message, StringComparison.Ordinal);
        Assert.Contains("does not depend on the logprobs", detached.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LossThatIgnoresOneDatum_NamesThatDatum()
    {
        var (data, logprobs) = Batch(1, 1);

        var ex = Assert.Throws<InvalidOperationException>(() => TrainingClientTorchExtensions.Gradients(data, logprobs, (_, lps) => new TorchLossResult(lps[0].sum())));

        Assert.Contains("datum 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NullResultOrLoss_IsRejected()
    {
        var (data, logprobs) = Batch(1, 1);

        Assert.Throws<InvalidOperationException>(() => TrainingClientTorchExtensions.Gradients(data, logprobs, (_, _) => null!));
        Assert.Throws<InvalidOperationException>(() => TrainingClientTorchExtensions.Gradients(data, logprobs, (_, _) => new TorchLossResult(null!)));
    }

    [Fact]
    public void RepeatedCalls_DisposeEveryTensorTheyCreate()
    {
        var (data, logprobs) = Batch(5, 4);
        var loss = DpoLoss.Create(0.1);
        TrainingClientTorchExtensions.Gradients(data, logprobs, loss);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var created = DisposeScopeManager.Statistics.CreatedInScopeCount;

        for (var i = 0; i < 200; i++)
        {
            TrainingClientTorchExtensions.Gradients(data, logprobs, loss);
        }

        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.True(DisposeScopeManager.Statistics.CreatedInScopeCount - created > 200, "the calls created their tensors inside dispose scopes");
    }
}
