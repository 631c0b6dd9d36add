using TinkerFlow.Local.Training;
using TorchSharp;
using static TinkerFlow.Local.Tests.Training.LossReference;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Training;

[Collection("Torch")]
public sealed class TinkerLossesValidationTests
{
    [Fact]
    public void Compute_UnknownLossListsValidNames()
    {
        var ex = Fail("grpo", Ce());
        Assert.Equal(
            "Unknown loss_fn 'grpo'. Valid loss functions: cross_entropy, importance_sampling, ppo, cispo, dro. " +
            "Custom losses run client-side through forward_backward_custom.",
            ex.Message);
    }

    [Fact]
    public void Compute_UnknownConfigKeyListsAcceptedKeys()
    {
        var ex = Fail("ppo", Rl(), new Dictionary<string, double> { ["clip_epsilon"] = 0.2 });
        Assert.Equal(
            "Unknown loss_fn_config key 'clip_epsilon'. Accepted keys for 'ppo': clip_low_threshold, clip_high_threshold.",
            ex.Message);

        var ce = Fail("cross_entropy", Ce(), new Dictionary<string, double> { ["beta"] = 0.1 });
        Assert.Equal("Unknown loss_fn_config key 'beta'. loss_fn 'cross_entropy' accepts no loss_fn_config keys.", ce.Message);
    }

    [Fact]
    public void Compute_MissingRequiredInputIsNamed()
    {
        var inputs = Rl();
        inputs.Remove("advantages");
        var ex = Fail("importance_sampling", inputs);
        Assert.Equal(
            "Datum 0: loss_fn 'importance_sampling' requires loss_fn_inputs 'advantages', which is missing. " +
            "Required: target_tokens, logprobs, advantages; optional: weights.",
            ex.Message);
    }

    [Fact]
    public void Compute_UnexpectedInputIsNamed()
    {
        var inputs = Ce();
        inputs["advantages"] = Floats(1, 1, 1);
        var ex = Fail("cross_entropy", inputs);
        Assert.Equal(
            "Datum 0: unexpected loss_fn_inputs 'advantages' for loss_fn 'cross_entropy'. Accepted: target_tokens, weights.",
            ex.Message);
    }

    [Fact]
    public void Compute_ShapeMismatchSaysExpectedAndActual()
    {
        var inputs = Rl();
        inputs["logprobs"] = Floats(-1, -1, -1, -1);
        var ex = Fail("ppo", inputs);
        Assert.Equal(
            "Datum 0: loss_fn_inputs 'logprobs' has shape [4] but expected [3] (N = 3, the model_input length).",
            ex.Message);

        var targets = Ce();
        targets["target_tokens"] = Longs(1, 2);
        var tex = Fail("cross_entropy", targets);
        Assert.StartsWith(
            "Datum 0: loss_fn_inputs 'target_tokens' has shape [2] but expected [3] or [3, K] with K >= 1",
            tex.Message);
    }

    [Fact]
    public void Compute_SoftTargetsOnlyForCrossEntropy()
    {
        var inputs = Rl();
        inputs["target_tokens"] = torch.tensor(new long[] { 0, 1, 2, 3, 0, 1 }).reshape(3, 2);
        var ex = Fail("ppo", inputs);
        Assert.StartsWith("Datum 0: loss_fn_inputs 'target_tokens' has shape [3, 2] but expected [3] ", ex.Message);
    }

    [Fact]
    public void Compute_NonFiniteInputIsRejectedWithIndex()
    {
        var inputs = Rl();
        inputs["advantages"] = Floats(1, double.NaN, 1);
        var ex = Fail("cispo", inputs);
        Assert.Equal(
            "Datum 0: loss_fn_inputs 'advantages' contains a non-finite value (NaN) at flat index 1; all values must be finite.",
            ex.Message);
    }

    [Fact]
    public void Compute_TargetOutsideVocabularyIsRejected()
    {
        var inputs = Ce();
        inputs["target_tokens"] = Longs(0, 4, 1);
        var ex = Fail("cross_entropy", inputs);
        Assert.Equal("Datum 0: loss_fn_inputs 'target_tokens' holds token id 4 outside the vocabulary [0, 4) (flat index 1).", ex.Message);

        inputs["target_tokens"] = Longs(0, 1, -1);
        Assert.Contains("token id -1 outside the vocabulary [0, 4)", Fail("cross_entropy", inputs).Message);
    }

    [Fact]
    public void Compute_FloatTargetsAreRejected()
    {
        var inputs = Ce();
        inputs["target_tokens"] = Floats(0, 1, 2);
        var ex = Fail("cross_entropy", inputs);
        Assert.Equal("Datum 0: loss_fn_inputs 'target_tokens' must hold integer token ids (int64); got dtype Float32.", ex.Message);
    }

    [Fact]
    public void Compute_InvalidConfigValuesAreRejected()
    {
        var inverted = Fail("ppo", Rl(), new Dictionary<string, double> { ["clip_low_threshold"] = 1.3 });
        Assert.StartsWith("loss_fn_config needs 0 <= clip_low_threshold <= clip_high_threshold; got 1.3 and 1.2.", inverted.Message);

        var nan = Fail("dro", Rl(), new Dictionary<string, double> { ["beta"] = double.NaN });
        Assert.Equal("loss_fn_config 'beta' must be a finite number; got NaN.", nan.Message);
    }

    [Fact]
    public void ValidateBatch_ReportsTheOffendingDatum()
    {
        using var scope = NewDisposeScope();
        var good = Ce();
        var bad = Ce();
        bad["weights"] = Floats(1, 1);
        var ex = Assert.Throws<TinkerUserInputException>(() =>
            TinkerLosses.ValidateBatch("cross_entropy", [good, bad], [3, 3], vocabSize: 4));
        Assert.StartsWith("Datum 1: loss_fn_inputs 'weights' has shape [2] but expected [3]", ex.Message);

        TinkerLosses.ValidateBatch("cross_entropy", [good, good], [3, 3], vocabSize: 4);
    }

    private static TinkerUserInputException Fail(
        string lossFn,
        Dictionary<string, Tensor> inputs,
        IReadOnlyDictionary<string, double>? config = null)
    {
        using var scope = NewDisposeScope();
        return Assert.Throws<TinkerUserInputException>(() => TinkerLosses.Compute(lossFn, LogitsTensor(), inputs, config));
    }

    private static Dictionary<string, Tensor> Ce() => new()
    {
        ["target_tokens"] = Longs(Targets),
        ["weights"] = Floats(1, 1, 1),
    };

    private static Dictionary<string, Tensor> Rl() => new()
    {
        ["target_tokens"] = Longs(Targets),
        ["logprobs"] = Floats(-1, -1, -1),
        ["advantages"] = Floats(1, -1, 0.5),
    };
}
