using TinkerFlow.Local.Training;
using TorchSharp;
using static TinkerFlow.Local.Tests.Training.LossReference;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Training;

[Collection("Torch")]
public sealed class TinkerLossesTests
{
    private const double Tol = 2e-5;

    [Fact]
    public void CrossEntropy_WeightedLossAndGradientMatchHandDerivation()
    {
        using var scope = NewDisposeScope();
        double[] w = [1.0, 0.5, 0.0];
        var logits = LogitsTensor();
        var result = TinkerLosses.Compute(
            TinkerLosses.CrossEntropy,
            logits,
            new Dictionary<string, Tensor> { ["target_tokens"] = Longs(Targets), ["weights"] = Floats(w) });
        result.Loss.backward();

        var lp = TargetLogprobs(Targets);
        double[] elementwise = [-lp[0] * w[0], -lp[1] * w[1], -lp[2] * w[2]];
        AssertClose(elementwise.Sum(), result.Loss.item<float>(), Tol, "loss");
        AssertClose(elementwise.Sum(), result.LossValue, Tol, "loss value");
        AssertClose(lp, result.Logprobs, Tol, "logprobs");
        AssertClose(elementwise, result.ElementwiseLoss, Tol, "elementwise_loss");
        // d(−w·lp)/d lp = −w; the masked third row gets no gradient at all.
        AssertClose(LogitsGrad([-w[0], -w[1], -w[2]], Targets), logits.grad!, Tol, "grad");
        Assert.Equal(0f, logits.grad!.select(0, 2).abs().max().item<float>());
        Assert.False(result.Logprobs.requires_grad);
        Assert.Equal(ScalarType.Float32, result.ElementwiseLoss.dtype);
    }

    [Fact]
    public void CrossEntropy_WithoutWeightsUsesOnes()
    {
        using var scope = NewDisposeScope();
        var result = TinkerLosses.Compute(
            TinkerLosses.CrossEntropy,
            LogitsTensor(),
            new Dictionary<string, Tensor> { ["target_tokens"] = Longs(Targets) });

        AssertClose(-TargetLogprobs(Targets).Sum(), result.LossValue, Tol, "loss");
    }

    [Fact]
    public void CrossEntropy_SoftTargetsSumWeightedLogprobs()
    {
        using var scope = NewDisposeScope();
        long[,] targets = { { 2, 0 }, { 0, 1 }, { 3, 3 } };
        double[,] w = { { 0.7, 0.3 }, { 1.0, 0.0 }, { 0.25, 0.25 } };
        var logits = LogitsTensor();
        var result = TinkerLosses.Compute(
            TinkerLosses.CrossEntropy,
            logits,
            new Dictionary<string, Tensor>
            {
                ["target_tokens"] = torch.tensor(new long[] { 2, 0, 0, 1, 3, 3 }).reshape(3, 2),
                ["weights"] = torch.tensor(new float[] { 0.7f, 0.3f, 1.0f, 0.0f, 0.25f, 0.25f }).reshape(3, 2),
            });
        result.Loss.backward();

        var p = Softmax();
        var expectedLp = new double[3, 2];
        var elementwise = new double[3];
        var grad = new double[3, 4];
        for (int i = 0; i < 3; i++)
        {
            double wSum = 0;
            for (int k = 0; k < 2; k++)
            {
                float wk = (float)w[i, k];
                expectedLp[i, k] = Math.Log(p[i, targets[i, k]]);
                elementwise[i] -= wk * expectedLp[i, k];
                wSum += wk;
                grad[i, targets[i, k]] -= wk;
            }

            // d(−Σ_k w_k·lp_k)/dz = −Σ_k w_k·onehot(t_k) + (Σ_k w_k)·p
            for (int v = 0; v < 4; v++)
            {
                grad[i, v] += wSum * p[i, v];
            }
        }

        Assert.Equal(new long[] { 3, 2 }, result.Logprobs.shape);
        AssertClose(expectedLp, result.Logprobs, Tol, "logprobs");
        AssertClose(elementwise, result.ElementwiseLoss, Tol, "elementwise_loss");
        AssertClose(elementwise.Sum(), result.LossValue, Tol, "loss");
        AssertClose(grad, logits.grad!, Tol, "grad");
    }

    [Fact]
    public void ImportanceSampling_LossAndGradientMatchHandDerivation()
    {
        using var scope = NewDisposeScope();
        var lp = TargetLogprobs(Targets);
        double[] q = [lp[0] + 0.1, lp[1] - 0.3, lp[2] + 0.05];
        double[] a = [1.5, -0.5, 2.0];
        double[] w = [1.0, 1.0, 0.0];
        var logits = LogitsTensor();
        var result = TinkerLosses.Compute(TinkerLosses.ImportanceSampling, logits, RlInputs(q, a, w));
        result.Loss.backward();

        var r = Enumerable.Range(0, 3).Select(i => Math.Exp(lp[i] - (float)q[i])).ToArray();
        var elementwise = Enumerable.Range(0, 3).Select(i => -r[i] * a[i] * w[i]).ToArray();
        AssertClose(elementwise.Sum(), result.LossValue, Tol, "loss");
        AssertClose(elementwise, result.ElementwiseLoss, Tol, "elementwise_loss");
        AssertClose(lp, result.Logprobs, Tol, "logprobs");
        // d(−r·A)/d lp = −r·A, since dr/d lp = r.
        AssertClose(LogitsGrad(elementwise, Targets), logits.grad!, Tol, "grad");
    }

    [Fact]
    public void Ppo_ClippingActiveBlocksGradientOfClippedTokens()
    {
        using var scope = NewDisposeScope();
        var lp = TargetLogprobs(Targets);
        double[] ratios = [1.0, 1.5, 0.5];
        double[] q = Enumerable.Range(0, 3).Select(i => lp[i] - Math.Log(ratios[i])).ToArray();
        // token 1: r = 1.5 > 1.2 with A > 0 → min picks clip(r)·A, a constant; token 2: r = 0.5 < 0.8 with A < 0 → same.
        double[] a = [1.0, 2.0, -1.5];
        var logits = LogitsTensor();
        var result = TinkerLosses.Compute(TinkerLosses.Ppo, logits, RlInputs(q, a, null));
        result.Loss.backward();

        double[] elementwise = [-1.0 * a[0], -1.2 * a[1], -0.8 * a[2]];
        AssertClose(elementwise, result.ElementwiseLoss, 1e-4, "elementwise_loss");
        AssertClose(elementwise.Sum(), result.LossValue, 1e-4, "loss");
        AssertClose(LogitsGrad([-ratios[0] * a[0], 0.0, 0.0], Targets), logits.grad!, 1e-4, "grad");
    }

    [Fact]
    public void Ppo_ClippingInactiveKeepsUnclippedGradient()
    {
        using var scope = NewDisposeScope();
        var lp = TargetLogprobs(Targets);
        double[] ratios = [1.0, 1.5, 0.5];
        double[] q = Enumerable.Range(0, 3).Select(i => lp[i] - Math.Log(ratios[i])).ToArray();
        // r = 1.5 with A < 0 and r = 0.5 with A > 0: the unclipped term is the minimum, so the gradient flows.
        double[] a = [1.0, -2.0, 1.5];
        double[] w = [1.0, 0.5, 1.0];
        var logits = LogitsTensor();
        var result = TinkerLosses.Compute(TinkerLosses.Ppo, logits, RlInputs(q, a, w));
        result.Loss.backward();

        var elementwise = Enumerable.Range(0, 3).Select(i => -ratios[i] * a[i] * w[i]).ToArray();
        AssertClose(elementwise, result.ElementwiseLoss, 1e-4, "elementwise_loss");
        AssertClose(LogitsGrad(elementwise, Targets), logits.grad!, 1e-4, "grad");
    }

    [Fact]
    public void Ppo_ConfigAndPerTokenThresholdsChangeTheClipRange()
    {
        using var scope = NewDisposeScope();
        var lp = TargetLogprobs(Targets);
        double[] ratios = [1.0, 1.5, 0.5];
        double[] q = Enumerable.Range(0, 3).Select(i => lp[i] - Math.Log(ratios[i])).ToArray();
        double[] a = [1.0, 2.0, -1.5];
        var config = new Dictionary<string, double> { ["clip_low_threshold"] = 0.4, ["clip_high_threshold"] = 1.6 };

        var wide = TinkerLosses.Compute(TinkerLosses.Ppo, LogitsTensor(), RlInputs(q, a, null), config);
        // Bounds [0.4, 1.6] contain every ratio: the loss is plain −r·A.
        AssertClose(-(1.0 * a[0] + 1.5 * a[1] + 0.5 * a[2]), wide.LossValue, 1e-4, "wide loss");

        var inputs = RlInputs(q, a, null);
        inputs["clip_high_threshold"] = Floats(1.2, 1.3, 1.2);
        var perToken = TinkerLosses.Compute(TinkerLosses.Ppo, LogitsTensor(), inputs, config);
        // Token 1 is now clipped at its own upper bound 1.3; the low bound still comes from the config (0.4).
        AssertClose(-(1.0 * a[0] + 1.3 * a[1] + 0.5 * a[2]), perToken.LossValue, 1e-4, "per-token loss");
    }

    [Fact]
    public void Cispo_GradientIsStopGradClippedRatioTimesAdvantage()
    {
        using var scope = NewDisposeScope();
        var lp = TargetLogprobs(Targets);
        double[] ratios = [1.1, 1.5, 0.5];
        double[] q = Enumerable.Range(0, 3).Select(i => lp[i] - Math.Log(ratios[i])).ToArray();
        double[] a = [1.0, 2.0, -1.5];
        double[] w = [1.0, 1.0, 0.5];
        double[] clipped = [1.1, 1.2, 0.8];
        var logits = LogitsTensor();
        var result = TinkerLosses.Compute(TinkerLosses.Cispo, logits, RlInputs(q, a, w));
        result.Loss.backward();

        var elementwise = Enumerable.Range(0, 3).Select(i => -clipped[i] * lp[i] * a[i] * w[i]).ToArray();
        AssertClose(elementwise, result.ElementwiseLoss, 1e-4, "elementwise_loss");
        AssertClose(elementwise.Sum(), result.LossValue, 1e-4, "loss");
        // With sg, d loss / d lp = −clip(r)·A·w: no r·lp term from differentiating the ratio.
        var coefficients = Enumerable.Range(0, 3).Select(i => -clipped[i] * a[i] * w[i]).ToArray();
        AssertClose(LogitsGrad(coefficients, Targets), logits.grad!, 1e-4, "grad");
    }

    [Fact]
    public void Dro_LossAndGradientMatchHandDerivation()
    {
        using var scope = NewDisposeScope();
        var lp = TargetLogprobs(Targets);
        double[] q = [lp[0] - 0.4, lp[1] + 0.7, lp[2] - 1.0];
        double[] a = [1.0, -0.5, 2.0];
        double[] w = [1.0, 0.0, 1.0];
        const double beta = 0.3;
        var logits = LogitsTensor();
        var result = TinkerLosses.Compute(
            TinkerLosses.Dro, logits, RlInputs(q, a, w), new Dictionary<string, double> { ["beta"] = beta });
        result.Loss.backward();

        var qf = q.Select(x => (double)(float)x).ToArray();
        var elementwise = Enumerable.Range(0, 3)
            .Select(i => -(lp[i] * a[i] - 0.5 * beta * Math.Pow(lp[i] - qf[i], 2)) * w[i]).ToArray();
        AssertClose(elementwise, result.ElementwiseLoss, Tol, "elementwise_loss");
        AssertClose(elementwise.Sum(), result.LossValue, Tol, "loss");
        // d loss / d lp = −(A − β·(lp − q))·w
        var coefficients = Enumerable.Range(0, 3).Select(i => -(a[i] - beta * (lp[i] - qf[i])) * w[i]).ToArray();
        AssertClose(LogitsGrad(coefficients, Targets), logits.grad!, Tol, "grad");
    }

    [Fact]
    public void Dro_DefaultBetaIsDocumentedDefault()
    {
        using var scope = NewDisposeScope();
        var lp = TargetLogprobs(Targets);
        double[] q = [lp[0] - 1.0, lp[1] - 1.0, lp[2] - 1.0];
        double[] a = [0.0, 0.0, 0.0];
        var result = TinkerLosses.Compute(TinkerLosses.Dro, LogitsTensor(), RlInputs(q, a, null));

        // With A = 0 and lp − q = 1 on each of 3 tokens the loss is 3·½·β.
        AssertClose(3 * 0.5 * TinkerLosses.DefaultDroBeta, result.LossValue, Tol, "loss");
        Assert.Equal(0.05, TinkerLosses.DefaultDroBeta);
    }

    [Theory]
    [InlineData("cross_entropy")]
    [InlineData("importance_sampling")]
    [InlineData("ppo")]
    [InlineData("cispo")]
    [InlineData("dro")]
    public void AllLosses_ZeroWeightsZeroLossAndGradient(string lossFn)
    {
        using var scope = NewDisposeScope();
        var lp = TargetLogprobs(Targets);
        var inputs = lossFn == "cross_entropy"
            ? new Dictionary<string, Tensor> { ["target_tokens"] = Longs(Targets), ["weights"] = Floats(0, 0, 0) }
            : RlInputs([lp[0] - 0.2, lp[1] + 0.3, lp[2]], [1.0, -2.0, 3.0], [0, 0, 0]);
        var logits = LogitsTensor();
        var result = TinkerLosses.Compute(lossFn, logits, inputs);
        result.Loss.backward();

        Assert.Equal(0.0, result.LossValue);
        Assert.Equal(0f, result.ElementwiseLoss.abs().max().item<float>());
        Assert.Equal(0f, logits.grad!.abs().max().item<float>());
        AssertClose(lp, result.Logprobs, Tol, "logprobs are reported even when masked");
    }

    [Fact]
    public void ComputeBatch_PaddedBatchMatchesPerDatumAndSumsLoss()
    {
        using var scope = NewDisposeScope();
        // Row 0 is the tiny example (N = 3); row 1 holds its first two positions shifted by a constant (N = 2) then padding.
        var example = LogitsTensor().detach();
        var row1 = cat([example.narrow(0, 0, 2) + 0.5f, full(1, 4, 99f)], 0);
        var batch = stack([example, row1]).requires_grad_(true); // (2, 3, 4)
        var inputs = new List<IReadOnlyDictionary<string, Tensor>>
        {
            new Dictionary<string, Tensor> { ["target_tokens"] = Longs(Targets), ["weights"] = Floats(1, 0.5, 0) },
            new Dictionary<string, Tensor> { ["target_tokens"] = Longs(1, 3), ["weights"] = Floats(1, 1) },
        };

        var result = TinkerLosses.ComputeBatch(TinkerLosses.CrossEntropy, batch, [3, 2], inputs);
        result.Loss.backward();

        var lp = TargetLogprobs(Targets);
        // A constant shift leaves the softmax unchanged, so row 1 has the same probabilities as rows 0–1 of the example.
        var p = Softmax();
        double loss0 = -lp[0] - 0.5 * lp[1];
        double loss1 = -Math.Log(p[0, 1]) - Math.Log(p[1, 3]);
        Assert.Equal(2, result.Datums.Count);
        AssertClose(loss0, result.Datums[0].LossValue, Tol, "datum 0");
        AssertClose(loss1, result.Datums[1].LossValue, Tol, "datum 1");
        AssertClose(loss0 + loss1, result.Metrics["loss:sum"], Tol, "loss:sum");
        AssertClose(loss0 + loss1, result.Loss.item<float>(), Tol, "loss");
        Assert.Equal(new long[] { 2 }, result.Datums[1].Logprobs.shape);
        Assert.Single(result.Metrics);
        // The padding position never receives gradient.
        Assert.Equal(0f, batch.grad![1, 2].abs().max().item<float>());
        AssertClose(LogitsGrad([-1.0, -0.5, 0.0], Targets), batch.grad![0], Tol, "grad row 0");
    }

    [Fact]
    public void ComputeFromLogprobs_MatchesComputeFromLogits()
    {
        using var scope = NewDisposeScope();
        var lp = TargetLogprobs(Targets);
        var inputs = RlInputs([lp[0] - 0.1, lp[1] + 0.2, lp[2]], [1.0, -1.0, 0.5], [1, 1, 1]);
        var fromLogits = TinkerLosses.Compute(TinkerLosses.Ppo, LogitsTensor(), inputs);

        var targetLogprobs = Floats(lp).requires_grad_(true);
        var fromLogprobs = TinkerLosses.ComputeFromLogprobs(TinkerLosses.Ppo, targetLogprobs, inputs, vocabSize: V);
        fromLogprobs.Loss.backward();

        AssertClose(fromLogits.LossValue, fromLogprobs.LossValue, Tol, "loss");
        Assert.NotNull(targetLogprobs.grad);
    }

    private static Dictionary<string, Tensor> RlInputs(double[] q, double[] a, double[]? w)
    {
        var inputs = new Dictionary<string, Tensor>
        {
            ["target_tokens"] = Longs(Targets),
            ["logprobs"] = Floats(q),
            ["advantages"] = Floats(a),
        };
        if (w is not null)
        {
            inputs["weights"] = Floats(w);
        }

        return inputs;
    }
}
