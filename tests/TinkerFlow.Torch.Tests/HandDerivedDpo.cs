using TinkerFlow.Recipes.Dpo;
using TinkerFlow.Types;

namespace TinkerFlow.Torch.Tests;

/// <summary>
/// The reference: the hand-derived DPO gradient the Dpo recipe used before it moved to a TorchSharp loss, kept here only
/// to pin the TorchSharp loss. For z = β·[(s_c − s_c^ref) − (s_r − s_r^ref)] and loss = mean over pairs of −log σ(z),
/// ∂loss/∂logp_c,t = −σ(−z)·β·w_t / P and ∂loss/∂logp_r,t = +σ(−z)·β·w_t / P.
/// </summary>
internal static class HandDerivedDpo
{
    public static (double Loss, float[][] Gradients) Compute(IReadOnlyList<Datum> data, IReadOnlyList<float[]> logprobs, double beta)
    {
        var pairs = data.Count / 2;
        var gradients = new float[data.Count][];
        double loss = 0;
        for (var p = 0; p < pairs; p++)
        {
            int c = 2 * p, r = (2 * p) + 1;
            var wc = data[c].LossFnInputs["weights"].ToFloat32Array();
            var wr = data[r].LossFnInputs["weights"].ToFloat32Array();
            var refC = data[c].LossFnInputs[DpoLoss.ReferenceScoreKey].ToFloat32Array()[0];
            var refR = data[r].LossFnInputs[DpoLoss.ReferenceScoreKey].ToFloat32Array()[0];
            var z = (beta * (DpoLoss.Score(logprobs[c], wc) - refC)) - (beta * (DpoLoss.Score(logprobs[r], wr) - refR));
            loss += -z > 30 ? -z : Math.Log(1 + Math.Exp(-z));              // −log σ(z) = softplus(−z)
            var dz = -Sigmoid(-z) / pairs;
            gradients[c] = [.. wc.Select(w => (float)(w * dz * beta))];
            gradients[r] = [.. wr.Select(w => (float)(w * -dz * beta))];
        }

        return (loss / pairs, gradients);
    }

    private static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
}
