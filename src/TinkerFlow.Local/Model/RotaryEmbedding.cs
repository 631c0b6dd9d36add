using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// Rotary position embedding (RoPE) in the Hugging Face "rotate half" layout, with optional linear or llama3 frequency
/// scaling. It holds no parameters or buffers (the inverse frequencies are recomputed on the input's device), so it
/// adds nothing to the state dict, matching checkpoints.
/// </summary>
internal sealed class RotaryEmbedding
{
    private readonly float[] _invFreq;

    /// <summary>Precomputes the inverse frequencies for <paramref name="config"/>.</summary>
    public RotaryEmbedding(TransformerConfig config)
    {
        HeadDim = config.HeadDim;
        using var scope = torch.NewDisposeScope();
        // Computed in float32 exactly as transformers does: 1 / theta^(arange(0, D, 2) / D).
        var exponents = torch.arange(0, HeadDim, 2, ScalarType.Int64).to(ScalarType.Float32) / HeadDim;   // (D/2)
        var invFreq = 1.0f / torch.pow(torch.tensor((float)config.RopeTheta), exponents);                  // (D/2)
        if (config.RopeScaling is { } scaling)
        {
            invFreq = scaling.Type switch
            {
                "linear" => invFreq / (float)scaling.Factor,
                "llama3" => Llama3(invFreq, scaling),
                _ => throw new NotSupportedException($"rope_scaling type '{scaling.Type}' is not supported."),
            };
        }
        _invFreq = invFreq.contiguous().data<float>().ToArray();
    }

    /// <summary>Per-head width D.</summary>
    public int HeadDim { get; }

    /// <summary>The inverse frequencies after scaling, one per rotated pair. [D/2]</summary>
    public IReadOnlyList<float> InverseFrequencies => _invFreq;

    /// <summary>
    /// Cosines and sines for the given positions. positions: [B, T] int64 → cos, sin: [B, 1, T, D] float32,
    /// shaped to broadcast over heads.
    /// </summary>
    public (Tensor Cos, Tensor Sin) Compute(Tensor positions)
    {
        using var scope = torch.NewDisposeScope();
        var invFreq = torch.tensor(_invFreq, device: positions.device);                        // (D/2)
        var freqs = positions.to(ScalarType.Float32).unsqueeze(-1) * invFreq;                 // (B, T, D/2)
        var emb = torch.cat([freqs, freqs], dim: -1).unsqueeze(1);                            // (B, 1, T, D)
        return (emb.cos().MoveToOuterDisposeScope(), emb.sin().MoveToOuterDisposeScope());
    }

    /// <summary>Rotates x: [B, H, T, D] by the angles in cos/sin: [B, 1, T, D].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);                                                       // (B, H, T, D/2)
        var x2 = x.narrow(-1, half, half);                                                    // (B, H, T, D/2)
        var rotated = torch.cat([-x2, x1], dim: -1);                                          // (B, H, T, D)
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();                           // (B, H, T, D)
    }

    private static Tensor Llama3(Tensor invFreq, RopeScaling s)
    {
        double lowFreqWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        double highFreqWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        var wavelen = 2 * Math.PI / invFreq;
        // Long wavelengths (low frequencies) are divided by factor; short ones are kept.
        var scaled = torch.where(wavelen > lowFreqWavelen, invFreq / s.Factor, invFreq);
        var smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        var smoothed = (1 - smooth) * scaled / s.Factor + smooth * scaled;
        var isMedium = (wavelen >= highFreqWavelen).logical_and(wavelen <= lowFreqWavelen);
        return torch.where(isMedium, smoothed, scaled);
    }
}
