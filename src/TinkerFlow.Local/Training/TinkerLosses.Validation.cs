using System.Globalization;
using TinkerFlow.Local.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Training;

/// <summary>Validation of loss names, <c>loss_fn_config</c> and <c>loss_fn_inputs</c>.</summary>
internal static partial class TinkerLosses
{
    /// <summary>Looks up a loss by its wire name.</summary>
    /// <param name="lossFn">The requested <c>loss_fn</c>.</param>
    /// <returns>The loss's accepted inputs and config.</returns>
    /// <exception cref="TinkerUserInputException">The name is not one of <see cref="Names"/>.</exception>
    public static LossFunctionSpec GetSpec(string lossFn)
    {
        foreach (var spec in Specs)
        {
            if (string.Equals(spec.Name, lossFn, StringComparison.Ordinal))
            {
                return spec;
            }
        }

        throw new TinkerUserInputException(
            $"Unknown loss_fn '{lossFn}'. Valid loss functions: {string.Join(", ", Names)}. " +
            "Custom losses run client-side through forward_backward_custom.");
    }

    /// <summary>
    /// Applies a loss's config defaults to the request's <c>loss_fn_config</c> and checks every key and value.
    /// </summary>
    /// <param name="spec">The loss.</param>
    /// <param name="config">The request's config, or null.</param>
    /// <returns>Every accepted key with its effective value.</returns>
    /// <exception cref="TinkerUserInputException">An unknown key, a non-finite value or an invalid range.</exception>
    public static IReadOnlyDictionary<string, double> ResolveConfig(LossFunctionSpec spec, IReadOnlyDictionary<string, double>? config)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var resolved = new Dictionary<string, double>(spec.ConfigDefaults, StringComparer.Ordinal);
        if (config is not null)
        {
            foreach (var (key, value) in config)
            {
                if (!spec.ConfigDefaults.ContainsKey(key))
                {
                    string accepted = spec.ConfigDefaults.Count == 0
                        ? $"loss_fn '{spec.Name}' accepts no loss_fn_config keys"
                        : $"Accepted keys for '{spec.Name}': {string.Join(", ", spec.ConfigDefaults.Keys)}";
                    throw new TinkerUserInputException($"Unknown loss_fn_config key '{key}'. {accepted}.");
                }

                if (!double.IsFinite(value))
                {
                    throw new TinkerUserInputException(
                        $"loss_fn_config '{key}' must be a finite number; got {Format(value)}.");
                }

                resolved[key] = value;
            }
        }

        if (resolved.TryGetValue(ClipLowThreshold, out double low) && resolved.TryGetValue(ClipHighThreshold, out double high)
            && (low < 0 || low > high))
        {
            throw new TinkerUserInputException(
                $"loss_fn_config needs 0 <= {ClipLowThreshold} <= {ClipHighThreshold}; got {Format(low)} and {Format(high)}. " +
                $"The values are ratio bounds (defaults {Format(DefaultClipLowThreshold)} and {Format(DefaultClipHighThreshold)}), not epsilons.");
        }

        if (resolved.TryGetValue(Beta, out double beta) && beta < 0)
        {
            throw new TinkerUserInputException($"loss_fn_config '{Beta}' must be >= 0; got {Format(beta)}.");
        }

        return resolved;
    }

    /// <summary>
    /// Validates a whole request before the model runs: loss name, config, and every datum's inputs against its
    /// length and the vocabulary. Throws on the first problem; allocates only temporaries.
    /// </summary>
    /// <param name="lossFn">The requested <c>loss_fn</c>.</param>
    /// <param name="inputs">Each datum's <c>loss_fn_inputs</c>.</param>
    /// <param name="lengths">Each datum's model_input length N.</param>
    /// <param name="vocabSize">The model's vocabulary size V.</param>
    /// <param name="config">The request's <c>loss_fn_config</c>, or null.</param>
    /// <exception cref="TinkerUserInputException">Anything invalid.</exception>
    public static void ValidateBatch(
        string lossFn,
        IReadOnlyList<IReadOnlyDictionary<string, Tensor>> inputs,
        IReadOnlyList<int> lengths,
        long vocabSize,
        IReadOnlyDictionary<string, double>? config = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(lengths);
        if (inputs.Count != lengths.Count)
        {
            throw new ArgumentException($"{inputs.Count} input sets but {lengths.Count} lengths.", nameof(lengths));
        }

        var spec = GetSpec(lossFn);
        var resolved = ResolveConfig(spec, config);
        using var scope = NewDisposeScope();
        for (int i = 0; i < inputs.Count; i++)
        {
            PrepareDatum(spec, resolved, inputs[i], i, lengths[i], vocabSize, CPU, ScalarType.Float32);
        }
    }

    private static LossDatumInputs PrepareDatum(
        LossFunctionSpec spec,
        IReadOnlyDictionary<string, double> config,
        IReadOnlyDictionary<string, Tensor> inputs,
        int datum,
        long length,
        long? vocabSize,
        Device device,
        ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var accepted = spec.AcceptedInputs.ToHashSet(StringComparer.Ordinal);
        var unexpected = inputs.Keys.Where(k => !accepted.Contains(k)).ToArray();
        if (unexpected.Length > 0)
        {
            throw new TinkerUserInputException(
                $"Datum {datum}: unexpected loss_fn_inputs {Quote(unexpected)} for loss_fn '{spec.Name}'. " +
                $"Accepted: {string.Join(", ", spec.AcceptedInputs)}.");
        }

        var missing = spec.RequiredInputs.Where(k => !inputs.ContainsKey(k)).ToArray();
        if (missing.Length > 0)
        {
            string optional = spec.OptionalInputs.Count == 0 ? "" : $"; optional: {string.Join(", ", spec.OptionalInputs)}";
            throw new TinkerUserInputException(
                $"Datum {datum}: loss_fn '{spec.Name}' requires loss_fn_inputs {Quote(missing)}, which {(missing.Length == 1 ? "is" : "are")} missing. " +
                $"Required: {string.Join(", ", spec.RequiredInputs)}{optional}.");
        }

        // target_tokens: (N) int64, or (N, K) soft targets where the loss allows them.
        var rawTargets = inputs[TargetTokensInput];
        if (!IsIntegral(rawTargets.dtype))
        {
            throw new TinkerUserInputException(
                $"Datum {datum}: loss_fn_inputs '{TargetTokensInput}' must hold integer token ids (int64); got dtype {rawTargets.dtype}.");
        }

        bool soft = rawTargets.dim() == 2 && spec.AllowsSoftTargets;
        bool shapeOk = soft
            ? rawTargets.shape[0] == length && rawTargets.shape[1] >= 1
            : rawTargets.dim() == 1 && rawTargets.shape[0] == length;
        if (!shapeOk)
        {
            string expected = spec.AllowsSoftTargets ? $"[{length}] or [{length}, K] with K >= 1" : $"[{length}]";
            throw new TinkerUserInputException(
                $"Datum {datum}: loss_fn_inputs '{TargetTokensInput}' has shape {FormatShape(rawTargets.shape)} but expected {expected} " +
                $"(N = {length}, the model_input length; position i predicts target_tokens[i]).");
        }

        var targets = rawTargets.to(ScalarType.Int64, device);
        using var vocabS = vocabSize?.ToScalar();
        var bad = vocabS is not null ? targets.lt(Scalars.Zero).logical_or(targets.ge(vocabS)) : targets.lt(Scalars.Zero);
        if (bad.any().item<bool>())
        {
            long at = bad.flatten().to(ScalarType.Int64).argmax().item<long>();
            long id = targets.flatten().select(0, at).item<long>();
            string range = vocabSize is long vv ? $"outside the vocabulary [0, {vv})" : "that is negative";
            throw new TinkerUserInputException(
                $"Datum {datum}: loss_fn_inputs '{TargetTokensInput}' holds token id {id} {range} (flat index {at}).");
        }

        Tensor? Float(string name, long[] shape, string shapeNote)
        {
            if (!inputs.TryGetValue(name, out var raw))
            {
                return null;
            }

            if (raw.dtype is ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64)
            {
                throw new TinkerUserInputException($"Datum {datum}: loss_fn_inputs '{name}' must be float32; got dtype {raw.dtype}.");
            }

            if (!raw.shape.SequenceEqual(shape))
            {
                throw new TinkerUserInputException(
                    $"Datum {datum}: loss_fn_inputs '{name}' has shape {FormatShape(raw.shape)} but expected {FormatShape(shape)} ({shapeNote}).");
            }

            var converted = raw.to(dtype, device);
            var finite = isfinite(converted);
            if (!finite.all().item<bool>())
            {
                long at = finite.logical_not().flatten().to(ScalarType.Int64).argmax().item<long>();
                double value = converted.flatten().select(0, at).to(ScalarType.Float64).item<double>();
                throw new TinkerUserInputException(
                    $"Datum {datum}: loss_fn_inputs '{name}' contains a non-finite value ({Format(value)}) at flat index {at}; all values must be finite.");
            }

            return converted;
        }

        string perToken = $"N = {length}, the model_input length";
        var weights = Float(WeightsInput, targets.shape, soft ? "the shape of target_tokens" : perToken);
        var sampler = Float(LogprobsInput, [length], perToken);
        var advantages = Float(AdvantagesInput, [length], perToken);
        var clipLow = Float(ClipLowThreshold, [length], perToken);
        var clipHigh = Float(ClipHighThreshold, [length], perToken);
        if (clipLow is not null || clipHigh is not null)
        {
            using Scalar lowS = config[ClipLowThreshold].ToScalar(), highS = config[ClipHighThreshold].ToScalar();
            var lowT = clipLow ?? full([length], lowS, dtype, device);
            var highT = clipHigh ?? full([length], highS, dtype, device);
            var wrong = lowT.lt(Scalars.Zero).logical_or(lowT.gt(highT));
            if (wrong.any().item<bool>())
            {
                long at = wrong.to(ScalarType.Int64).argmax().item<long>();
                throw new TinkerUserInputException(
                    $"Datum {datum}: per-token clip thresholds need 0 <= {ClipLowThreshold} <= {ClipHighThreshold}; at index {at} " +
                    $"they are {Format(lowT.select(0, at).to(ScalarType.Float64).item<double>())} and {Format(highT.select(0, at).to(ScalarType.Float64).item<double>())}.");
            }
        }

        return new LossDatumInputs
        {
            Length = length,
            TargetWidth = soft ? targets.shape[1] : 1,
            IsSoft = soft,
            Targets = targets,
            Weights = weights,
            SamplerLogprobs = sampler,
            Advantages = advantages,
            ClipLow = clipLow,
            ClipHigh = clipHigh,
        };
    }

    private static IReadOnlyList<LossFunctionSpec> BuildSpecs()
    {
        string[] rl = [TargetTokensInput, LogprobsInput, AdvantagesInput];
        var clip = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [ClipLowThreshold] = DefaultClipLowThreshold,
            [ClipHighThreshold] = DefaultClipHighThreshold,
        };
        var none = new Dictionary<string, double>(StringComparer.Ordinal);
        return
        [
            new LossFunctionSpec(CrossEntropy, [TargetTokensInput], [WeightsInput], none, AllowsSoftTargets: true),
            new LossFunctionSpec(ImportanceSampling, rl, [WeightsInput], none, AllowsSoftTargets: false),
            new LossFunctionSpec(Ppo, rl, [WeightsInput, ClipLowThreshold, ClipHighThreshold], clip, AllowsSoftTargets: false),
            new LossFunctionSpec(Cispo, rl, [WeightsInput, ClipLowThreshold, ClipHighThreshold], clip, AllowsSoftTargets: false),
            new LossFunctionSpec(
                Dro,
                rl,
                [WeightsInput],
                new Dictionary<string, double>(StringComparer.Ordinal) { [Beta] = DefaultDroBeta },
                AllowsSoftTargets: false),
        ];
    }

    private static bool IsIntegral(ScalarType dtype) =>
        dtype is ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte;

    private static string Quote(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
