using TinkerFlow.Local.Model;

namespace TinkerFlow.Local.Limits;

/// <summary>
/// The one place that turns a request's size fields into bytes the engine will hold, so admission control (engine and
/// server) can refuse a request before allocating anything proportional to it. Every tensor is float32 (4 bytes).
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Estimate</term><description>Rule</description></listheader>
/// <item><term><see cref="AdapterBytes"/></term><description>rank × (in + out) × 4 summed over the targeted projections of every layer (q, k, v, o; gate, up, down; lm_head)</description></item>
/// <item><term><see cref="TrainingStateBytes"/></term><description>4 × adapter: weights, gradients and AdamW's two moments</description></item>
/// <item><term><see cref="SampleBytes"/></term><description>KV cache of num_samples × (prompt + max_tokens) positions × layers × 2 (K and V) × kv_heads × head_dim × 4, doubled (the cache grows by doubling), plus the prefill's logits (prompt × vocab × 4) and each step's logits (num_samples × vocab × 4 × 2)</description></item>
/// <item><term><see cref="SampleAdapterBytes"/></term><description>a sample on an adapter: one copy of it for the multi-adapter decode batch (the stacked weights of <c>LoraStack</c>), and one more when the request loads it from a checkpoint itself (<c>model_path</c>); zero padding up to the batch's largest rank is not counted</description></item>
/// <item><term>forward and forward_backward</term><description><see cref="Training.TrainingMemoryEstimate.ForwardBackwardBytes"/>: the engine's largest micro-batch, with its chunked LM head and checkpointed layers</description></item>
/// </list>
/// These are upper estimates for admission, not measurements; refine them here, in one place.
/// </remarks>
internal static class MemoryEstimator
{
    /// <summary>Bytes per stored scalar: the engine trains and samples in float32.</summary>
    public const long BytesPerScalar = 4;

    /// <summary>The largest rank a model's adapters can meaningfully have: its hidden size (a LoRA update of higher rank than a projection's dimensions adds nothing).</summary>
    public static int ModelMaxLoraRank(TransformerConfig config) => config.HiddenSize;

    /// <summary>Trainable scalars of a LoRA adapter of <paramref name="rank"/> on <paramref name="config"/>.</summary>
    public static long LoraParameterCount(TransformerConfig config, long rank, bool trainAttn, bool trainMlp, bool trainUnembed)
    {
        long hidden = config.HiddenSize;
        long q = (long)config.NumAttentionHeads * config.HeadDim;
        long kv = (long)config.NumKeyValueHeads * config.HeadDim;
        long perLayer = 0;
        if (trainAttn)
        {
            perLayer += (hidden + q) + (hidden + kv) + (hidden + kv) + (q + hidden);
        }

        if (trainMlp)
        {
            perLayer += 3 * (hidden + config.IntermediateSize);
        }

        long total = perLayer * config.NumHiddenLayers;
        if (trainUnembed)
        {
            total += hidden + config.VocabSize;
        }

        return checked(total * rank);
    }

    /// <summary>Bytes of one copy of the adapter (e.g. a sampler's snapshot).</summary>
    public static long AdapterBytes(TransformerConfig config, long rank, bool trainAttn, bool trainMlp, bool trainUnembed) =>
        SaturatingMultiply(LoraParameterCount(config, rank, trainAttn, trainMlp, trainUnembed), BytesPerScalar);

    /// <summary>
    /// Bytes a sample request holds for its adapter of <paramref name="adapterBytes"/> (0 = base model): the copy stacked
    /// for a multi-adapter decode batch, plus the adapter itself when the request loads it from a checkpoint.
    /// </summary>
    public static long SampleAdapterBytes(long adapterBytes, bool loadedByTheRequest) =>
        SaturatingMultiply(adapterBytes, loadedByTheRequest ? 2 : 1);

    /// <summary>Bytes of a training client: adapter weights, their gradients and AdamW's first and second moments.</summary>
    public static long TrainingStateBytes(TransformerConfig config, long rank, bool trainAttn, bool trainMlp, bool trainUnembed) =>
        SaturatingMultiply(AdapterBytes(config, rank, trainAttn, trainMlp, trainUnembed), 4);

    /// <summary>Peak bytes of one sample request: its KV cache plus logits.</summary>
    public static long SampleBytes(TransformerConfig config, long numSamples, long promptTokens, long maxTokens, bool promptLogprobs)
    {
        long positions = SaturatingMultiply(numSamples, promptTokens + maxTokens);
        long perPosition = 2L * config.NumHiddenLayers * config.NumKeyValueHeads * config.HeadDim * BytesPerScalar;
        long kv = SaturatingMultiply(SaturatingMultiply(positions, perPosition), 2);
        long prefillLogits = SaturatingMultiply(promptTokens, (long)config.VocabSize * BytesPerScalar * (promptLogprobs ? 2 : 1));
        long stepLogits = SaturatingMultiply(numSamples, (long)config.VocabSize * BytesPerScalar * 2);
        return SaturatingAdd(SaturatingAdd(kv, prefillLogits), stepLogits);
    }

    /// <summary>Formats a byte count for messages (e.g. <c>1.5 GiB</c>).</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):0.##} KiB",
        _ => $"{bytes} bytes",
    };

    private static long SaturatingMultiply(long a, long b)
    {
        try
        {
            return checked(a * b);
        }
        catch (OverflowException)
        {
            return long.MaxValue;
        }
    }

    /// <summary><c>a + b</c> for non-negative byte counts, <see cref="long.MaxValue"/> when it overflows.</summary>
    internal static long SaturatingAdd(long a, long b)
    {
        try
        {
            return checked(a + b);
        }
        catch (OverflowException)
        {
            return long.MaxValue;
        }
    }
}
