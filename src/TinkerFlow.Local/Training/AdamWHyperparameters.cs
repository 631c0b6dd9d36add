using System.Globalization;

namespace TinkerFlow.Local.Training;

/// <summary>
/// One optimizer step's AdamW hyperparameters; the defaults are Tinker's <c>AdamParams</c> defaults (wire spec §6.3).
/// They may change from step to step (learning-rate schedules).
/// </summary>
/// <param name="LearningRate">Step size; &gt;= 0.</param>
/// <param name="Beta1">First-moment decay, in [0, 1).</param>
/// <param name="Beta2">Second-moment decay, in [0, 1).</param>
/// <param name="Eps">Denominator term, &gt; 0.</param>
/// <param name="WeightDecay">Decoupled weight decay (scaled by the learning rate, as in PyTorch's AdamW); &gt;= 0.</param>
/// <param name="GradClipNorm">Global gradient-norm limit; 0 disables clipping; &gt;= 0.</param>
internal sealed record AdamWHyperparameters(
    double LearningRate = 1e-4,
    double Beta1 = 0.9,
    double Beta2 = 0.95,
    double Eps = 1e-12,
    double WeightDecay = 0.0,
    double GradClipNorm = 0.0)
{
    /// <summary>Checks every value; names the field and the accepted range when one is wrong.</summary>
    /// <exception cref="TinkerUserInputException">A value is non-finite or out of range.</exception>
    public void Validate()
    {
        Check("learning_rate", LearningRate, LearningRate >= 0, ">= 0");
        Check("beta1", Beta1, Beta1 >= 0 && Beta1 < 1, "in [0, 1)");
        Check("beta2", Beta2, Beta2 >= 0 && Beta2 < 1, "in [0, 1)");
        Check("eps", Eps, Eps > 0, "> 0");
        Check("weight_decay", WeightDecay, WeightDecay >= 0, ">= 0");
        Check("grad_clip_norm", GradClipNorm, GradClipNorm >= 0, ">= 0 (0 disables clipping)");
    }

    private static void Check(string name, double value, bool ok, string range)
    {
        if (!double.IsFinite(value) || !ok)
        {
            throw new TinkerUserInputException(
                $"adam_params.{name} must be finite and {range}; got {value.ToString("R", CultureInfo.InvariantCulture)}.");
        }
    }
}
