using TinkerFlow.Types;

namespace TinkerFlow.Recipes.Dpo;

/// <summary>
/// The DPO loss over a batch laid out as [chosen₀, rejected₀, chosen₁, rejected₁, …]. A sequence's score is
/// s = Σ_t w_t·logp_t over its answer tokens (w = the datum's weights: 1 on the answer, 0 on the prompt), and with the
/// cached reference scores the loss is mean over pairs of −log σ(β·[(s_c − s_c^ref) − (s_r − s_r^ref)]).
/// </summary>
internal static class DpoLoss
{
    /// <summary>The loss, its gradient with respect to every logprob, and the metrics.</summary>
    /// <param name="data">2P datums, chosen then rejected for each pair; their <c>weights</c> mark the answer tokens.</param>
    /// <param name="logprobs">The policy's logprob of every target token, one array per datum.</param>
    /// <param name="referenceScores">The reference model's score s^ref of each datum (same order).</param>
    /// <param name="beta">β.</param>
    public static CustomLossResult Compute(IReadOnlyList<Datum> data, IReadOnlyList<float[]> logprobs, IReadOnlyList<double> referenceScores, double beta)
    {
        if (data.Count % 2 != 0 || logprobs.Count != data.Count || referenceScores.Count != data.Count)
        {
            throw new ArgumentException($"DPO needs chosen/rejected pairs: got {data.Count} datums, {logprobs.Count} logprob arrays, {referenceScores.Count} reference scores.");
        }

        var pairs = data.Count / 2;
        var gradients = new float[data.Count][];
        double loss = 0, correct = 0, margin = 0, chosenReward = 0, rejectedReward = 0, preferred = 0;
        for (var p = 0; p < pairs; p++)
        {
            int c = 2 * p, r = (2 * p) + 1;
            var wc = data[c].LossFnInputs["weights"].ToFloat32Array();
            var wr = data[r].LossFnInputs["weights"].ToFloat32Array();
            double sc = Score(logprobs[c], wc), sr = Score(logprobs[r], wr);
            var rc = beta * (sc - referenceScores[c]);
            var rr = beta * (sr - referenceScores[r]);
            var z = rc - rr;                                          // β·[(s_c − s_c^ref) − (s_r − s_r^ref)]
            loss += Softplus(-z);                                     // −log σ(z)
            var dz = -Sigmoid(-z) / pairs;                            // ∂(mean loss)/∂z
            gradients[c] = Scale(wc, dz * beta);                      // ∂z/∂logp_c,t = β·w_t
            gradients[r] = Scale(wr, -dz * beta);                     // ∂z/∂logp_r,t = −β·w_t
            correct += z > 0 ? 1 : 0;
            margin += z;
            chosenReward += rc;
            rejectedReward += rr;
            preferred += sc > sr ? 1 : 0;
        }

        var metrics = new Dictionary<string, double>
        {
            ["dpo_loss"] = loss / pairs,
            ["accuracy"] = correct / pairs,
            ["margin"] = margin / pairs,
            ["chosen_reward"] = chosenReward / pairs,
            ["rejected_reward"] = rejectedReward / pairs,
            ["preference_accuracy"] = preferred / pairs,
            ["num_pairs"] = pairs,
        };
        return new CustomLossResult(loss / pairs, gradients, metrics);
    }

    /// <summary>s = Σ_t w_t·logp_t.</summary>
    public static double Score(IReadOnlyList<float> logprobs, float[] weights)
    {
        double s = 0;
        for (var t = 0; t < weights.Length; t++)
        {
            s += weights[t] * (double)logprobs[t];
        }

        return s;
    }

    private static float[] Scale(float[] weights, double factor)
    {
        var g = new float[weights.Length];
        for (var t = 0; t < g.Length; t++)
        {
            g[t] = (float)(weights[t] * factor);
        }

        return g;
    }

    private static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    private static double Softplus(double x) => x > 30 ? x : Math.Log(1 + Math.Exp(x));
}
