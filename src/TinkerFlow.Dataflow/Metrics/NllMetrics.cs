using System.Text;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow;

/// <summary>
/// Client-side negative log-likelihood metrics from the per-token <c>logprobs</c> that <c>forward</c> and
/// <c>forward_backward</c> return (the cookbook's <c>train_mean_nll</c>, <c>test/nll</c> and <c>test/bpb</c>).
/// </summary>
public static class NllMetrics
{
    /// <summary>Weighted mean NLL in nats per token: −Σ w·logp / Σ w over all datums.</summary>
    /// <param name="lossFnOutputs">Per datum, the output tensors; <c>logprobs</c> [N] float32 is read.</param>
    /// <param name="data">The datums that were scored; <c>weights</c> [N] float32 is read.</param>
    /// <returns>The mean NLL, or <see cref="double.NaN"/> when every weight is 0.</returns>
    /// <exception cref="ArgumentException">Counts or lengths differ, or a tensor is missing.</exception>
    public static double MeanNll(IReadOnlyList<IReadOnlyDictionary<string, TensorData>> lossFnOutputs, IReadOnlyList<Datum> data)
    {
        CheckCounts(lossFnOutputs, data);
        double weighted = 0, weightSum = 0;
        for (var d = 0; d < data.Count; d++)
        {
            var (logprobs, weights, _) = Read(lossFnOutputs, data, d);
            for (var i = 0; i < weights.Length; i++)
            {
                weighted += weights[i] * (double)logprobs[i];
                weightSum += weights[i];
            }
        }

        return weightSum > 0 ? -weighted / weightSum : double.NaN;
    }

    /// <summary>Weighted mean NLL of a <c>forward</c> / <c>forward_backward</c> result; see the list overload.</summary>
    /// <param name="output">The result.</param>
    /// <param name="data">The datums that were scored.</param>
    /// <returns>The mean NLL, or <see cref="double.NaN"/> when every weight is 0.</returns>
    public static double MeanNll(ForwardBackwardOutput output, IReadOnlyList<Datum> data)
    {
        ArgumentNullException.ThrowIfNull(output);
        return MeanNll(output.LossFnOutputs, data);
    }

    /// <summary>Weighted mean NLL of a training step: every minibatch's datums against its forward_backward output.</summary>
    /// <param name="minibatches">The step's minibatches.</param>
    /// <param name="outputs">One output per minibatch.</param>
    /// <returns>The mean NLL, or <see cref="double.NaN"/> when every weight is 0.</returns>
    public static double MeanNll(IReadOnlyList<IReadOnlyList<Datum>> minibatches, IReadOnlyList<ForwardBackwardOutput> outputs)
    {
        ArgumentNullException.ThrowIfNull(minibatches);
        ArgumentNullException.ThrowIfNull(outputs);
        return MeanNll([.. outputs.SelectMany(o => o.LossFnOutputs)], [.. minibatches.SelectMany(m => m)]);
    }

    /// <summary>
    /// Bits per byte: −Σ logp over counted target tokens ÷ (ln 2 × UTF-8 bytes of those tokens). A target is counted
    /// when its weight is &gt; 0 and it is not in <paramref name="excludedTokenIds"/> (pass the renderer's
    /// <c>SpecialTokenIds</c>). Unlike nats per token, bpb compares across tokenizers.
    /// </summary>
    /// <param name="lossFnOutputs">Per datum, the output tensors; <c>logprobs</c> [N] float32 is read.</param>
    /// <param name="data">The datums; <c>target_tokens</c> [N] int64 and <c>weights</c> [N] float32 are read.</param>
    /// <param name="tokenizer">Decodes counted tokens; each run of consecutive counted tokens is decoded together,
    /// so multi-byte characters split across byte-level tokens are measured exactly.</param>
    /// <param name="excludedTokenIds">Token ids never counted (special tokens); null counts all.</param>
    /// <returns>The bits per byte, or <see cref="double.NaN"/> when no byte is counted.</returns>
    public static double BitsPerByte(
        IReadOnlyList<IReadOnlyDictionary<string, TensorData>> lossFnOutputs,
        IReadOnlyList<Datum> data,
        TinkerTokenizer tokenizer,
        IReadOnlySet<int>? excludedTokenIds = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        CheckCounts(lossFnOutputs, data);
        double nll = 0;
        long bytes = 0;
        var run = new List<int>();
        for (var d = 0; d < data.Count; d++)
        {
            var (logprobs, weights, targets) = Read(lossFnOutputs, data, d);
            for (var i = 0; i < weights.Length; i++)
            {
                var token = (int)targets[i];
                if (weights[i] > 0 && excludedTokenIds?.Contains(token) != true)
                {
                    nll -= logprobs[i];
                    run.Add(token);
                }
                else
                {
                    bytes += FlushRun(tokenizer, run);
                }
            }

            bytes += FlushRun(tokenizer, run);
        }

        return bytes > 0 ? nll / (Math.Log(2) * bytes) : double.NaN;
    }

    /// <summary>Bits per byte of a <c>forward</c> / <c>forward_backward</c> result; see the list overload.</summary>
    /// <param name="output">The result.</param>
    /// <param name="data">The datums that were scored.</param>
    /// <param name="tokenizer">Decodes counted tokens.</param>
    /// <param name="excludedTokenIds">Token ids never counted (special tokens); null counts all.</param>
    /// <returns>The bits per byte, or <see cref="double.NaN"/> when no byte is counted.</returns>
    public static double BitsPerByte(ForwardBackwardOutput output, IReadOnlyList<Datum> data, TinkerTokenizer tokenizer, IReadOnlySet<int>? excludedTokenIds = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        return BitsPerByte(output.LossFnOutputs, data, tokenizer, excludedTokenIds);
    }

    private static long FlushRun(TinkerTokenizer tokenizer, List<int> run)
    {
        if (run.Count == 0)
        {
            return 0;
        }

        var count = Encoding.UTF8.GetByteCount(tokenizer.Decode(run));
        run.Clear();
        return count;
    }

    private static void CheckCounts(IReadOnlyList<IReadOnlyDictionary<string, TensorData>> lossFnOutputs, IReadOnlyList<Datum> data)
    {
        ArgumentNullException.ThrowIfNull(lossFnOutputs);
        ArgumentNullException.ThrowIfNull(data);
        if (lossFnOutputs.Count != data.Count)
        {
            throw new ArgumentException($"Got {lossFnOutputs.Count} loss_fn_outputs for {data.Count} datums; pass the outputs of the call that scored exactly these datums.", nameof(lossFnOutputs));
        }
    }

    private static (float[] Logprobs, float[] Weights, long[] Targets) Read(IReadOnlyList<IReadOnlyDictionary<string, TensorData>> outputs, IReadOnlyList<Datum> data, int d)
    {
        var logprobs = Get(outputs[d], "logprobs", $"loss_fn_outputs[{d}]").ToFloat32Array();
        var weights = Get(data[d].LossFnInputs, "weights", $"data[{d}].loss_fn_inputs").ToFloat32Array();
        var targets = Get(data[d].LossFnInputs, "target_tokens", $"data[{d}].loss_fn_inputs").ToInt64Array();
        if (logprobs.Length != weights.Length || targets.Length != weights.Length)
        {
            throw new ArgumentException($"Datum {d}: logprobs has {logprobs.Length} entries, weights {weights.Length}, target_tokens {targets.Length}; they must match.");
        }

        return (logprobs, weights, targets);
    }

    private static TensorData Get(IReadOnlyDictionary<string, TensorData> tensors, string key, string where) =>
        tensors.TryGetValue(key, out var tensor)
            ? tensor
            : throw new ArgumentException($"{where} has no '{key}' tensor.");
}
