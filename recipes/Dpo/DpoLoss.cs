using TinkerFlow.Torch;
using TinkerFlow.Types;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Recipes.Dpo;

/// <summary>
/// The DPO loss as a TorchSharp loss over a batch laid out as [chosen₀, rejected₀, chosen₁, rejected₁, …]. A sequence's
/// score is s = Σ_t w_t·logp_t over its answer tokens (w = the datum's <c>weights</c>: 1 on the answer, 0 on the prompt),
/// and with the reference score s^ref each datum carries under <see cref="ReferenceScoreKey"/> the loss is
/// mean over pairs of −log σ(β·[(s_c − s_c^ref) − (s_r − s_r^ref)]). Autograd differentiates it; no gradient is written by hand.
/// </summary>
internal static class DpoLoss
{
    /// <summary>The extra loss input holding a datum's reference score s^ref (float32, one value); it never leaves the client.</summary>
    public const string ReferenceScoreKey = "reference_score";

    /// <summary>The datum with its reference score attached as an extra loss input.</summary>
    public static Datum WithReferenceScore(Datum datum, double score) => datum with
    {
        LossFnInputs = new Dictionary<string, TensorData>(datum.LossFnInputs) { [ReferenceScoreKey] = TensorData.FromFloat32([score]) },
    };

    /// <summary>The loss for <see cref="TrainingClientTorchExtensions.ForwardBackwardCustomAsync"/>.</summary>
    public static TorchLossFunction Create(double beta) => (data, logprobs) => Compute(data, logprobs, beta);

    /// <summary>The loss and its metrics: <c>dpo_loss</c>, <c>accuracy</c>, <c>margin</c>, <c>chosen_reward</c>,
    /// <c>rejected_reward</c>, <c>preference_accuracy</c>, <c>num_pairs</c>.</summary>
    /// <param name="data">2P datums, chosen then rejected for each pair, each with <c>weights</c> and a reference score.</param>
    /// <param name="logprobs">The policy's logprob of every target token, one tensor per datum.</param>
    /// <param name="beta">β.</param>
    public static TorchLossResult Compute(IReadOnlyList<Datum> data, IReadOnlyList<Tensor> logprobs, double beta)
    {
        if (data.Count == 0 || data.Count % 2 != 0 || logprobs.Count != data.Count)
        {
            throw new ArgumentException($"DPO needs chosen/rejected pairs: got {data.Count} datums and {logprobs.Count} logprob tensors.");
        }

        var scores = stack(logprobs.Select((lp, i) => (lp * data[i].LossFnInputs["weights"].ToTorch()).sum()));
        var reference = cat(data.Select(Reference).ToList());
        // Kept-alive Scalars: TorchSharp 0.107 can free a temporary one while libtorch reads it (docs/engine-notes.md, "Scalars").
        using Scalar betaScalar = beta.ToScalar(), zero = 0.ToScalar();
        var rewards = (scores - reference).mul(betaScalar);              // β·(s − s^ref), per datum
        var (chosen, rejected) = (rewards[TensorIndex.Slice(0, null, 2)], rewards[TensorIndex.Slice(1, null, 2)]);
        var z = chosen - rejected;                                        // β·[(s_c − s_c^ref) − (s_r − s_r^ref)]
        var loss = -nn.functional.logsigmoid(z).mean();
        var metrics = new Dictionary<string, double>
        {
            ["dpo_loss"] = loss.item<float>(),
            ["accuracy"] = z.gt(zero).to(ScalarType.Float32).mean().item<float>(),
            ["margin"] = z.mean().item<float>(),
            ["chosen_reward"] = chosen.mean().item<float>(),
            ["rejected_reward"] = rejected.mean().item<float>(),
            ["preference_accuracy"] = (scores[TensorIndex.Slice(0, null, 2)] > scores[TensorIndex.Slice(1, null, 2)]).to(ScalarType.Float32).mean().item<float>(),
            ["num_pairs"] = data.Count / 2,
        };
        return new TorchLossResult(loss, metrics);
    }

    /// <summary>s = Σ_t w_t·logp_t, for scoring with the reference model.</summary>
    public static double Score(IReadOnlyList<float> logprobs, float[] weights) =>
        weights.Select((w, t) => w * (double)logprobs[t]).Sum();

    private static Tensor Reference(Datum datum, int index) =>
        datum.LossFnInputs.TryGetValue(ReferenceScoreKey, out var score)
            ? score.ToTorch().reshape(1)
            : throw new ArgumentException($"DPO datum {index} has no '{ReferenceScoreKey}' input; attach it with DpoLoss.WithReferenceScore.");
}
