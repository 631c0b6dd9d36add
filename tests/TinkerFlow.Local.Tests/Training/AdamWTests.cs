using TinkerFlow.Local.Training;
using TorchSharp;
using static TinkerFlow.Local.Tests.Training.LossReference;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Training;

[Collection("Torch")]
public sealed class AdamWTests
{
    private static readonly float[] InitialA = [0.5f, -0.25f, 1.0f, 0.75f];
    private static readonly float[] InitialB = [-1.5f, 0.125f, 2.0f];

    // Gradients for three steps: step 2 has a large norm so that clipping at 0.5 is active.
    private static readonly double[][][] Grads =
    [
        [[0.1, -0.2, 0.3, 0.05], [0.4, -0.1, 0.2]],
        [[1.0, 2.0, -3.0, 0.5], [-1.0, 0.5, 2.5]],
        [[-0.3, 0.1, 0.0, 0.2], [0.05, 0.3, -0.2]],
    ];

    private static readonly AdamWHyperparameters[] Schedule =
    [
        new(LearningRate: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, GradClipNorm: 0.0),
        new(LearningRate: 0.05, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1, GradClipNorm: 0.5),
        new(LearningRate: 0.02, Beta1: 0.8, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.0, GradClipNorm: 10.0),
    ];

    [Fact]
    public void AdamW_MatchesHandWrittenReferenceOverThreeSteps()
    {
        using var scope = NewDisposeScope();
        var (a, b) = MakeParameters();
        using var optimizer = new AdamW([("a", a), ("b", b)]);
        var reference = new ReferenceAdamW([InitialA.Select(x => (double)x).ToArray(), InitialB.Select(x => (double)x).ToArray()]);

        for (int step = 0; step < 3; step++)
        {
            Backward(a, b, Grads[step]);
            var metrics = optimizer.Step(Schedule[step]);
            var expected = reference.Step(Grads[step], Schedule[step]);

            AssertClose(reference.Parameters[0], a, 1e-5, $"a after step {step + 1}");
            AssertClose(reference.Parameters[1], b, 1e-5, $"b after step {step + 1}");
            AssertClose(expected.GradNorm, metrics["grad_norm:mean"], 1e-5, "grad_norm");
            AssertClose(expected.UpdateNorm, metrics["update_norm:mean"], 1e-5, "update_norm");
            AssertClose(expected.ParamNorm, metrics["param_norm:mean"], 1e-5, "param_norm");
            Assert.Equal(Schedule[step].LearningRate, metrics["learning_rate:mean"]);
            Assert.Equal(0f, a.grad!.abs().max().item<float>());
            Assert.Equal(step + 1, optimizer.StepCount);
        }

        Assert.True(reference.ClippedAtStep2, "the schedule must exercise clipping");
        Assert.Equal(["grad_norm:mean", "learning_rate:mean", "param_norm:mean", "update_norm:mean"], optimizer.Step(Schedule[0]).Keys.Order());
    }

    [Fact]
    public void AdamW_ExportImportGivesBitIdenticalNextStep()
    {
        using var scope = NewDisposeScope();
        var (a1, b1) = MakeParameters();
        using var original = new AdamW([("layer.a", a1), ("layer.b", b1)]);
        for (int step = 0; step < 2; step++)
        {
            Backward(a1, b1, Grads[step]);
            original.Step(Schedule[step]);
        }

        var state = original.ExportState();
        Assert.Equal(["layer.a.exp_avg", "layer.a.exp_avg_sq", "layer.b.exp_avg", "layer.b.exp_avg_sq", "step"], state.Keys.Order());
        Assert.Equal(2L, state["step"].item<long>());
        Assert.Equal(ScalarType.Int64, state["step"].dtype);

        Tensor a2 = a1.detach().clone().requires_grad_(true);
        Tensor b2 = b1.detach().clone().requires_grad_(true);
        using var restored = new AdamW([("layer.a", a2), ("layer.b", b2)]);
        restored.ImportState(state);
        Assert.Equal(2, restored.StepCount);

        Backward(a1, b1, Grads[2]);
        Backward(a2, b2, Grads[2]);
        original.Step(Schedule[2]);
        restored.Step(Schedule[2]);

        Assert.Equal(a1.data<float>().ToArray(), a2.data<float>().ToArray());
        Assert.Equal(b1.data<float>().ToArray(), b2.data<float>().ToArray());
        var after1 = original.ExportState();
        var after2 = restored.ExportState();
        foreach (var key in after1.Keys)
        {
            Assert.True(after1[key].eq(after2[key]).all().item<bool>(), $"state '{key}' differs");
        }
    }

    [Fact]
    public void AdamW_NonFiniteGradientThrowsAndChangesNothing()
    {
        using var scope = NewDisposeScope();
        var (a, b) = MakeParameters();
        using var optimizer = new AdamW([("a", a), ("b", b)]);
        Backward(a, b, Grads[0]);
        optimizer.Step(Schedule[0]);
        var aBefore = a.data<float>().ToArray();
        var bBefore = b.data<float>().ToArray();
        var stateBefore = optimizer.ExportState();

        Backward(a, b, [[0.1, double.NaN, 0.0, 0.0], [0.1, 0.2, 0.3]]);
        var ex = Assert.Throws<TinkerUserInputException>(() => optimizer.Step(Schedule[1]));

        Assert.StartsWith("The gradients of 1 parameter(s) contain NaN or Inf ('a'). The optimizer step was not applied", ex.Message);
        Assert.Equal(aBefore, a.data<float>().ToArray());
        Assert.Equal(bBefore, b.data<float>().ToArray());
        Assert.Equal(1, optimizer.StepCount);
        var stateAfter = optimizer.ExportState();
        foreach (var key in stateBefore.Keys)
        {
            Assert.True(stateBefore[key].eq(stateAfter[key]).all().item<bool>(), $"state '{key}' changed");
        }

        // The bad gradients were discarded, so the next step works.
        Assert.Equal(0f, a.grad!.abs().max().item<float>());
        Backward(a, b, Grads[1]);
        optimizer.Step(Schedule[1]);
        Assert.Equal(2, optimizer.StepCount);
    }

    [Fact]
    public void AdamW_InvalidHyperparametersAreRejectedBeforeAnyChange()
    {
        using var scope = NewDisposeScope();
        var (a, b) = MakeParameters();
        using var optimizer = new AdamW([("a", a), ("b", b)]);
        Backward(a, b, Grads[0]);

        var ex = Assert.Throws<TinkerUserInputException>(() => optimizer.Step(new AdamWHyperparameters(LearningRate: -1e-3)));
        Assert.Equal("adam_params.learning_rate must be finite and >= 0; got -0.001.", ex.Message);
        var beta = Assert.Throws<TinkerUserInputException>(() => optimizer.Step(new AdamWHyperparameters(Beta2: 1.0)));
        Assert.Equal("adam_params.beta2 must be finite and in [0, 1); got 1.", beta.Message);
        Assert.Equal(0, optimizer.StepCount);
        Assert.Equal(InitialA, a.data<float>().ToArray());
    }

    [Fact]
    public void AdamW_ImportRejectsStateOfAnotherShape()
    {
        using var scope = NewDisposeScope();
        var (a, b) = MakeParameters();
        using var optimizer = new AdamW([("a", a), ("b", b)]);
        var state = new Dictionary<string, Tensor>
        {
            ["step"] = torch.tensor(3L),
            ["a.exp_avg"] = zeros(5),
            ["a.exp_avg_sq"] = zeros(5),
        };

        var ex = Assert.Throws<TinkerUserInputException>(() => optimizer.ImportState(state));
        Assert.Contains("Optimizer state 'a.exp_avg' has shape [5] and dtype Float32, but parameter 'a' has shape [4]", ex.Message);
        Assert.Equal(0, optimizer.StepCount);

        var unknown = new Dictionary<string, Tensor> { ["step"] = torch.tensor(1L), ["c.exp_avg"] = zeros(4) };
        Assert.Contains("'c.exp_avg' does not name a moment", Assert.Throws<TinkerUserInputException>(() => optimizer.ImportState(unknown)).Message);
    }

    [Fact]
    public void AdamW_ForTrainableParametersSkipsFrozenOnes()
    {
        using var scope = NewDisposeScope();
        var linear = nn.Linear(2, 3);
        linear.weight!.requires_grad = false;
        using var optimizer = AdamW.ForTrainableParameters(linear);
        Assert.Equal(["bias"], optimizer.ParameterNames);
    }

    private static (Tensor A, Tensor B) MakeParameters() =>
        (torch.tensor(InitialA).requires_grad_(true), torch.tensor(InitialB).requires_grad_(true));

    /// <summary>Accumulates exactly the given gradients: d/dp Σ p·c = c.</summary>
    private static void Backward(Tensor a, Tensor b, double[][] grads)
    {
        using var scope = NewDisposeScope();
        var loss = (a * Floats(grads[0])).sum() + (b * Floats(grads[1])).sum();
        loss.backward();
    }

    /// <summary>Textbook AdamW in doubles: bias-corrected moments m̂, v̂, and p ← p − lr·(m̂/(√v̂ + eps) + wd·p_old).</summary>
    private sealed class ReferenceAdamW(double[][] parameters)
    {
        private readonly double[][] _m = parameters.Select(p => new double[p.Length]).ToArray();
        private readonly double[][] _v = parameters.Select(p => new double[p.Length]).ToArray();
        private int _t;

        public double[][] Parameters { get; } = parameters;

        public bool ClippedAtStep2 { get; private set; }

        public (double GradNorm, double UpdateNorm, double ParamNorm) Step(double[][] rawGrads, AdamWHyperparameters hp)
        {
            _t++;
            // Gradients are applied in float32 by the optimizer; use the same values here.
            var grads = rawGrads.Select(g => g.Select(x => (double)(float)x).ToArray()).ToArray();
            double norm = Math.Sqrt(grads.Sum(g => g.Sum(x => x * x)));
            double scale = 1.0;
            if (hp.GradClipNorm > 0 && norm > hp.GradClipNorm)
            {
                scale = hp.GradClipNorm / (norm + 1e-6);
                ClippedAtStep2 |= _t == 2;
            }

            double updateSq = 0;
            for (int j = 0; j < Parameters.Length; j++)
            {
                for (int k = 0; k < Parameters[j].Length; k++)
                {
                    double g = grads[j][k] * scale;
                    _m[j][k] = hp.Beta1 * _m[j][k] + (1 - hp.Beta1) * g;
                    _v[j][k] = hp.Beta2 * _v[j][k] + (1 - hp.Beta2) * g * g;
                    double mHat = _m[j][k] / (1 - Math.Pow(hp.Beta1, _t));
                    double vHat = _v[j][k] / (1 - Math.Pow(hp.Beta2, _t));
                    double old = Parameters[j][k];
                    double updated = old - hp.LearningRate * hp.WeightDecay * old - hp.LearningRate * mHat / (Math.Sqrt(vHat) + hp.Eps);
                    updateSq += (updated - old) * (updated - old);
                    Parameters[j][k] = updated;
                }
            }

            double paramNorm = Math.Sqrt(Parameters.Sum(p => p.Sum(x => x * x)));
            return (norm, Math.Sqrt(updateSq), paramNorm);
        }
    }
}
