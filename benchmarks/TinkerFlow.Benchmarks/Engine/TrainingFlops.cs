using TinkerFlow.Local.Model;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>
/// Floating-point operations of one LoRA forward_backward step on a frozen base, counted GEMM by GEMM
/// (one multiply-add = 2 FLOPs). AdamW, norms, RoPE, SiLU, softmax and the loss are not counted (they are not GEMMs).
/// </summary>
/// <remarks>
/// <para>With tokens = B·T, N_base = the base weights that take part in a matmul (q,k,v,o, gate,up,down of every
/// layer and lm_head; the embedding is a lookup, 0 FLOPs), N_lora = the adapter's lora_A + lora_B scalars:</para>
/// <code>
/// FLOPs = 4·N_base·tokens            forward 2·N, backward 2·N for the input gradient only (the base is frozen: no weight gradient)
///       − 2·N_qkv0·tokens            layer 0's q/k/v base GEMMs read the embedding output, which needs no gradient
///       + 6·N_lora·tokens            forward 2·N, backward 2·N (weight gradient) + 2·N (input gradient)
///       + 6·L·H·D·T·(T+1)·B          causal attention: QKᵀ and PV forward = 2·H·D·T(T+1) per layer and sequence
///                                    (only the T(T+1)/2 unmasked scores), backward (dQ, dK, dV, dP) twice that
/// </code>
/// <para>This is the 4·N_base·tokens + 6·N_lora·tokens + attention, made exact for layer 0; counting attention
/// causally (half the square) keeps the figure conservative whatever the SDPA kernel really computes.</para>
/// </remarks>
internal static class TrainingFlops
{
    /// <summary>Base weights that take part in a matmul (everything but the embedding and the norms).</summary>
    public static long BaseMatmulParameters(TransformerConfig c)
    {
        long perLayer = AttentionQkvParameters(c) + (long)c.NumAttentionHeads * c.HeadDim * c.HiddenSize + 3L * c.HiddenSize * c.IntermediateSize;
        return perLayer * c.NumHiddenLayers + (long)c.HiddenSize * c.VocabSize;
    }

    /// <summary>One layer's q, k and v projection weights.</summary>
    public static long AttentionQkvParameters(TransformerConfig c) =>
        (long)c.HiddenSize * (c.NumAttentionHeads + 2L * c.NumKeyValueHeads) * c.HeadDim;

    /// <summary>FLOPs of one step of <paramref name="batch"/> sequences of <paramref name="sequence"/> tokens (see remarks).</summary>
    public static double PerStep(TransformerConfig c, long loraParameters, int batch, int sequence)
    {
        double tokens = (double)batch * sequence;
        double baseFlops = 4.0 * BaseMatmulParameters(c) * tokens - 2.0 * AttentionQkvParameters(c) * tokens;
        double loraFlops = 6.0 * loraParameters * tokens;
        double attention = 6.0 * c.NumHiddenLayers * c.NumAttentionHeads * c.HeadDim * (double)sequence * (sequence + 1) * batch;
        return baseFlops + loraFlops + attention;
    }

    /// <summary>The formula as one line, for the context output.</summary>
    public const string Formula = "FLOPs/step = 4*N_base*tok - 2*N_qkv(layer0)*tok + 6*N_lora*tok + 6*L*H*D*T*(T+1)*B (causal attention fwd+bwd)";
}
