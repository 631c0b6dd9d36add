using System.Numerics;
using TinkerFlow.Local.Model;

namespace TinkerFlow.Local.Training;

/// <summary>
/// Estimates of the memory a request needs on the embedded engine beyond the shared base weights: a forward_backward's
/// activations and LM-head buffers, and a sample's KV cache. Used to decide activation checkpointing, and meant for
/// admission control (refuse or queue a request that cannot fit).
/// </summary>
/// <remarks>
/// <para>Float32 throughout. With the base frozen, autograd keeps per token and decoder layer about
/// <c>4·(4·C + 6·H·D + Hkv·D + 4·I + 7·r)</c> bytes: the two norms' inputs and outputs (the outputs feed the LoRA down
/// projections), the query and key before their per-head norms, the rotated query, the repeated K/V heads, the attention
/// output before and after its transpose, the MLP's gate, SiLU, up and product, and the seven LoRA down projections
/// (measured on Qwen3-0.6B's widths: 0.46 GB per layer for 4,096 tokens, about 112 KB per token); a padded batch adds the
/// attention scores and probabilities, <c>2·4·H·T</c> bytes per token. A checkpointed layer keeps only its input,
/// <c>4·C</c> bytes per token, and is recomputed, one at a time, after the stored layers' graphs have been freed by the
/// backward pass; a layer's backward pass needs about <c>4·(3·I + 2·C)</c> bytes per token more for its gradients.</para>
/// <para>Estimates, not measurements: allocator slack and libtorch workspaces come on top.</para>
/// </remarks>
internal static class TrainingMemoryEstimate
{
    private const long Float = sizeof(float);

    /// <summary>Bytes one non-checkpointed decoder layer keeps per token for the backward pass.</summary>
    public static long LayerActivationBytesPerToken(TransformerConfig config, int loraRank, long paddedLength = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        long c = config.HiddenSize, i = config.IntermediateSize, hd = (long)config.NumAttentionHeads * config.HeadDim;
        long kvd = (long)config.NumKeyValueHeads * config.HeadDim;
        long scores = paddedLength > 0 ? 2L * config.NumAttentionHeads * paddedLength : 0;
        return Float * (4 * c + 4 * i + 6 * hd + kvd + 7L * Math.Max(0, loraRank) + scores);
    }

    /// <summary>
    /// How many decoder layers (from the first) a micro-batch of <paramref name="rows"/> × <paramref name="length"/> padded
    /// tokens checkpoints under <paramref name="mode"/>: for <see cref="ActivationCheckpointing.Auto"/>, the fewest that
    /// bring the estimated activations within <paramref name="budgetBytes"/> (all layers if even that does not fit).
    /// </summary>
    public static int CheckpointedLayers(TransformerConfig config, int loraRank, long rows, long length, bool padded, ActivationCheckpointing mode, long budgetBytes)
    {
        ArgumentNullException.ThrowIfNull(config);
        int layers = config.NumHiddenLayers;
        switch (mode)
        {
            case ActivationCheckpointing.Never:
                return 0;
            case ActivationCheckpointing.Always:
                return layers;
        }

        for (int k = 0; k < layers; k++)
        {
            if (ActivationBytes(config, loraRank, rows, length, padded, k) <= budgetBytes)
            {
                return k;
            }
        }

        return layers;
    }

    /// <summary>Peak activation bytes of the decoder stack for a micro-batch with <paramref name="checkpointedLayers"/> checkpointed layers.</summary>
    public static long ActivationBytes(TransformerConfig config, int loraRank, long rows, long length, bool padded, int checkpointedLayers)
    {
        ArgumentNullException.ThrowIfNull(config);
        long tokens = rows * length;
        long perLayer = LayerActivationBytesPerToken(config, loraRank, padded ? length : 0) * tokens;
        long kept = config.NumHiddenLayers - checkpointedLayers;
        long saved = checkpointedLayers * Float * config.HiddenSize * tokens;
        long backwardTransient = Float * (3L * config.IntermediateSize + 2L * config.HiddenSize) * tokens;
        // The backward pass frees the stored layers before it reaches the checkpointed ones, which it recomputes one at a time.
        return Math.Max(kept, checkpointedLayers > 0 ? 1 : 0) * perLayer + saved + backwardTransient;
    }

    /// <summary>
    /// Estimated peak bytes, beyond the base weights and the adapter, of a forward_backward (or forward) whose datums have
    /// the given token counts, run in micro-batches of at most <paramref name="maxTokensPerMicroBatch"/> padded tokens with
    /// the engine's checkpointing policy. The micro-batches run one after another, so this is the largest one's need:
    /// activations, the [B, T, C] hidden states and their gradient, and the chunked LM head's buffers.
    /// </summary>
    /// <param name="config">The base model.</param>
    /// <param name="loraRank">The adapter's rank.</param>
    /// <param name="datumLengths">Each datum's model_input length.</param>
    /// <param name="maxTokensPerMicroBatch">The engine's micro-batch size (<see cref="LocalBackendOptions.MaxTokensPerMicroBatch"/>).</param>
    /// <param name="backward">False for forward only (no activations are kept).</param>
    /// <param name="mode">The checkpointing policy.</param>
    /// <param name="budgetBytes">The activation budget of <see cref="ActivationCheckpointing.Auto"/>.</param>
    public static long ForwardBackwardBytes(
        TransformerConfig config,
        int loraRank,
        IReadOnlyList<int> datumLengths,
        int maxTokensPerMicroBatch,
        bool backward,
        ActivationCheckpointing mode,
        long budgetBytes)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(datumLengths);
        long worst = 0;
        var tokens = datumLengths.Select(n => new long[n]).ToArray();
        foreach (var batch in Engine.TrainingComputation.MicroBatches(tokens, maxTokensPerMicroBatch))
        {
            long rows = batch.Count;
            long length = batch.Max(i => datumLengths[i]);
            bool padded = batch.Any(i => datumLengths[i] != length);
            long hidden = Float * config.HiddenSize * rows * length;
            long activations = backward
                ? ActivationBytes(config, loraRank, rows, length, padded, CheckpointedLayers(config, loraRank, rows, length, padded, mode, budgetBytes))
                : LayerActivationBytesPerToken(config, 0, padded ? length : 0) * rows * length;   // one layer's transients
            worst = Math.Max(worst, activations + 3 * hidden + HeadBytes(config, rows * length));
        }

        return worst;
    }

    /// <summary>
    /// Estimated peak bytes of a sample request beyond the base weights: the KV cache of every sample (prompt plus
    /// <paramref name="maxTokens"/>, with the cache's doubling growth), the prefill's transient layer activations and
    /// the chunked prompt-logprob buffers.
    /// </summary>
    public static long SampleBytes(TransformerConfig config, int numSamples, int promptTokens, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(config);
        long perPosition = 2 * Float * config.NumHiddenLayers * config.NumKeyValueHeads * config.HeadDim;   // K and V of every layer
        long positions = promptTokens + (long)maxTokens;
        long capacity = Math.Max(16, (long)BitOperations.RoundUpToPowerOf2((ulong)Math.Max(1, positions)));
        long cache = perPosition * (promptTokens + numSamples * capacity);               // the prompt's cache, then one per sample
        long prefill = LayerActivationBytesPerToken(config, 0) * promptTokens;
        long logits = Float * config.VocabSize * (numSamples + 1);
        return cache + prefill + logits + HeadBytes(config, promptTokens);
    }

    /// <summary>
    /// The chunked LM head's working set over <paramref name="tokens"/> positions: two [rows, V] float32 buffers (training:
    /// the logits, later overwritten by their gradient, and logsumexp's temporary; sampling: logits and log-softmax),
    /// where a chunk never holds more rows than there are positions.
    /// </summary>
    public static long HeadBytes(TransformerConfig config, long tokens)
    {
        ArgumentNullException.ThrowIfNull(config);
        long rows = Math.Min(ChunkedLmHead.RowsPerChunk(config.VocabSize), Math.Max(1, tokens));
        return 2 * Float * rows * config.VocabSize;
    }
}
