using TinkerFlow.Cookbook.Rl;
using TinkerFlow.Torch;
using TinkerFlow.Types;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Recipes.KlSft;

/// <summary>
/// SFT with a penalty that keeps the policy close to a frozen reference model, as a TorchSharp loss. Over the answer
/// tokens (weights w = 1) of the whole batch, with r_t = logπ(y_t) − logπ_ref(y_t) the log-ratio to the reference:
/// loss = nll + λ·kl, where nll = −Σ w·logπ / Σ w and kl = Σ w·½·r² / Σ w (the "k2" estimate of KL(π‖π_ref), taken on
/// the data tokens). The penalty is quadratic in the logprobs, so no built-in loss (all linear in the logprobs or the
/// ratio, for fixed weights) can express it.
/// </summary>
internal static class KlSftLoss
{
    /// <summary>The extra loss input with the reference model's logprob of every target token; it never leaves the client.</summary>
    public const string ReferenceKey = "reference_logprobs";

    /// <summary>The datum with the reference logprobs of its targets attached.</summary>
    public static Datum WithReference(Datum datum, float[] referenceLogprobs) => datum with
    {
        LossFnInputs = new Dictionary<string, TensorData>(datum.LossFnInputs) { [ReferenceKey] = TensorData.FromFloat32(referenceLogprobs) },
    };

    /// <summary>The per-step metrics the recipe publishes: the loss value (the output's <c>custom_loss</c>) and <see cref="Compute"/>'s.</summary>
    public static IReadOnlyList<string> MetricNames { get; } = ["loss", "nll", "kl", "log_ratio", "num_loss_tokens"];

    /// <summary>The batch with each datum's reference logprobs attached, scored by <paramref name="reference"/> (the trainer's <c>PrepareBatch</c>).</summary>
    public static async Task<IReadOnlyList<Datum>> WithReferenceAsync(SamplingClient reference, IReadOnlyList<Datum> data, CancellationToken cancellationToken)
    {
        var logprobs = await KlPenalty.ComputeReferenceLogprobsAsync(reference, data, cancellationToken);
        return [.. data.Select((d, i) => WithReference(d, logprobs[i]))];
    }

    /// <summary>The datum as the wire sees it, for a forward pass: its reference logprobs removed.</summary>
    public static Datum WithoutReference(Datum datum) => datum with { LossFnInputs = datum.LossFnInputs.Where(kv => kv.Key != ReferenceKey).ToDictionary() };

    /// <summary>The loss for <see cref="TrainingClientTorchExtensions.ForwardBackwardCustomAsync"/>.</summary>
    public static TorchLossFunction Create(double klCoef) => (data, logprobs) => Compute(data, logprobs, klCoef);

    /// <summary>The loss and its metrics: <c>nll</c>, <c>kl</c>, <c>log_ratio</c> (mean r) and <c>num_loss_tokens</c>.</summary>
    public static TorchLossResult Compute(IReadOnlyList<Datum> data, IReadOnlyList<Tensor> logprobs, double klCoef)
    {
        var logp = cat(logprobs.Select(lp => lp.reshape(-1)).ToList());
        var weights = cat(data.Select(d => d.LossFnInputs["weights"].ToTorch().reshape(-1)).ToList());
        var reference = cat(data.Select(d => d.LossFnInputs[ReferenceKey].ToTorch().reshape(-1)).ToList());
        var tokens = weights.sum().clamp_min(1);
        var logRatio = logp - reference;
        var nll = -(weights * logp).sum() / tokens;
        var kl = (weights * logRatio.square()).sum() / (2 * tokens);
        var metrics = new Dictionary<string, double>
        {
            ["nll"] = nll.item<float>(),
            ["kl"] = kl.item<float>(),
            ["log_ratio"] = ((weights * logRatio).sum() / tokens).item<float>(),
            ["num_loss_tokens"] = weights.sum().item<float>(),
        };
        return new TorchLossResult(nll + (klCoef * kl), metrics);
    }
}
