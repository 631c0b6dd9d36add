using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Training;

/// <content>The token-stream form of the losses, used by the chunked LM head.</content>
internal static partial class TinkerLosses
{
    /// <summary>
    /// Validates a batch's inputs and lays them out as one token stream (see <see cref="TokenLossInputs"/>). The tensors
    /// join the caller's dispose scope.
    /// </summary>
    /// <param name="lossFn">One of <see cref="Names"/>.</param>
    /// <param name="inputs">Each datum's <c>loss_fn_inputs</c>.</param>
    /// <param name="lengths">Each datum's model_input length N.</param>
    /// <param name="vocabSize">V, to range-check <c>target_tokens</c>.</param>
    /// <param name="config">The request's <c>loss_fn_config</c>, or null.</param>
    /// <exception cref="TinkerUserInputException">The loss name, config or inputs are invalid.</exception>
    public static TokenLossInputs PrepareTokens(
        string lossFn,
        IReadOnlyList<IReadOnlyDictionary<string, Tensor>> inputs,
        IReadOnlyList<int> lengths,
        long vocabSize,
        IReadOnlyDictionary<string, double>? config = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(lengths);
        if (inputs.Count != lengths.Count || inputs.Count == 0)
        {
            throw new ArgumentException($"{inputs.Count} input sets and {lengths.Count} lengths: need the same, non-zero count.", nameof(lengths));
        }

        var spec = GetSpec(lossFn);
        var resolved = ResolveConfig(spec, config);
        var dtype = ScalarType.Float32;
        var prepared = new LossDatumInputs[inputs.Count];
        var offsets = new long[inputs.Count + 1];
        for (int i = 0; i < inputs.Count; i++)
        {
            prepared[i] = PrepareDatum(spec, resolved, inputs[i], i, lengths[i], vocabSize, CPU, dtype);
            offsets[i + 1] = offsets[i] + prepared[i].Length;
        }

        bool soft = prepared.Any(p => p.IsSoft);
        long width = prepared.Max(p => p.TargetWidth);
        Tensor Targets(LossDatumInputs p) =>
            !soft ? p.Targets
            : p.IsSoft && p.TargetWidth == width ? p.Targets
            : nn.functional.pad(p.IsSoft ? p.Targets : p.Targets.unsqueeze(1), [0, width - p.TargetWidth]);
        Tensor WeightsOf(LossDatumInputs p)
        {
            var w = p.Weights ?? ones(p.Targets.shape, dtype);
            return !soft ? w
                : p.IsSoft && p.TargetWidth == width ? w
                : nn.functional.pad(p.IsSoft ? w : w.unsqueeze(1), [0, width - p.TargetWidth]);
        }

        Tensor? Optional(Func<LossDatumInputs, Tensor?> pick, double fill)
        {
            using var fillS = fill.ToScalar();
            return prepared.All(p => pick(p) is null) ? null
                : cat([.. prepared.Select(p => pick(p) ?? full([p.Length], fillS, dtype))], 0);
        }

        var all = new LossDatumInputs
        {
            Length = offsets[^1],
            TargetWidth = soft ? width : 1,
            IsSoft = soft,
            Targets = cat([.. prepared.Select(Targets)], 0),
            // Padded soft columns need explicit zero weights even when no datum sent weights.
            Weights = soft || prepared.Any(p => p.Weights is not null) ? cat([.. prepared.Select(WeightsOf)], 0) : null,
            SamplerLogprobs = Optional(p => p.SamplerLogprobs, 0),
            Advantages = Optional(p => p.Advantages, 0),
            ClipLow = Optional(p => p.ClipLow, resolved.TryGetValue(ClipLowThreshold, out var lo) ? lo : 0),
            ClipHigh = Optional(p => p.ClipHigh, resolved.TryGetValue(ClipHighThreshold, out var hi) ? hi : 0),
        };

        return new TokenLossInputs
        {
            Spec = spec,
            Config = resolved,
            Offsets = offsets,
            Widths = [.. prepared.Select(p => p.TargetWidth)],
            Soft = [.. prepared.Select(p => p.IsSoft)],
            All = all,
        };
    }

    /// <summary>
    /// The loss of tokens [<paramref name="start"/>, start + n) of the stream from their learner log-probs.
    /// </summary>
    /// <param name="tokens">The batch's token stream.</param>
    /// <param name="logprobs">[n, K] log-probs of the targets at <see cref="TokenLossInputs.GatherIndex"/>, usually attached to the graph.</param>
    /// <param name="start">First token of the run.</param>
    /// <returns>The summed loss of the run (attached) and its per-token losses [n].</returns>
    public static (Tensor Loss, Tensor Elementwise) TokenLoss(TokenLossInputs tokens, Tensor logprobs, long start)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(logprobs);
        var slice = tokens.Slice(start, logprobs.shape[0]);
        var lp = slice.IsSoft ? logprobs : logprobs.select(1, 0);                            // (n, K) or (n)
        return DatumLoss(tokens.Spec, tokens.Config, lp, slice);
    }
}
