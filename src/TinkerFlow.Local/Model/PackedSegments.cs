using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Model;

/// <summary>
/// Several prompts packed back to back into one row ([1, ΣT]) whose attention runs per prompt: the projections and the
/// MLP see the packed tokens (no padding), and attention regroups them as [J, H, Tmax, D] (each prompt right-padded to
/// the longest) under a plain causal mask, so it costs J·Tmax² instead of the (ΣT)² of one block-diagonal mask over the
/// packed row.
/// </summary>
/// <remarks>
/// Padded query positions repeat their prompt's last token; with right padding and a causal mask no real query sees a
/// padded key, and the padded outputs are dropped when the rows are unpacked. The index tensors join the caller's
/// dispose scope.
/// </remarks>
internal sealed class PackedSegments
{
    private PackedSegments(Tensor padIndex, Tensor unpadIndex, long count, long maxLength)
    {
        PadIndex = padIndex;
        UnpadIndex = unpadIndex;
        Count = count;
        MaxLength = maxLength;
    }

    /// <summary>For each of the J·Tmax padded positions, the packed position it reads. [J·Tmax] int64</summary>
    public Tensor PadIndex { get; }

    /// <summary>For each of the ΣT packed positions, its padded position. [ΣT] int64</summary>
    public Tensor UnpadIndex { get; }

    /// <summary>Number of prompts (J).</summary>
    public long Count { get; }

    /// <summary>The longest prompt (Tmax).</summary>
    public long MaxLength { get; }

    /// <summary>
    /// True when attention per prompt (J·Tmax² scores) is cheaper than one block-diagonal mask over the packed row
    /// ((ΣT)² scores), e.g. prompts of similar lengths.
    /// </summary>
    public static bool IsCheaper(IReadOnlyList<int> lengths)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        double total = lengths.Sum(l => (double)l);
        double longest = lengths.Max();
        return lengths.Count * longest * longest < total * total;
    }

    /// <summary>The segments of prompts of <paramref name="lengths"/> (each ≥ 1) packed in that order.</summary>
    public static PackedSegments Create(IReadOnlyList<int> lengths, Device device)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        int count = lengths.Count;
        int longest = lengths.Max();
        var pad = new long[(long)count * longest];
        var unpad = new long[lengths.Sum()];
        long start = 0;
        for (int j = 0; j < count; j++)
        {
            int length = lengths[j];
            ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
            for (int t = 0; t < longest; t++)
            {
                pad[(long)j * longest + t] = start + Math.Min(t, length - 1);
            }
            for (int t = 0; t < length; t++)
            {
                unpad[start + t] = (long)j * longest + t;
            }
            start += length;
        }
        return new PackedSegments(
            torch.tensor(pad, ScalarType.Int64, device),
            torch.tensor(unpad, ScalarType.Int64, device),
            count,
            longest);
    }

    /// <summary>Packed heads → per-prompt heads. x: [1, H, ΣT, D] → [J, H, Tmax, D]</summary>
    public Tensor Pad(Tensor x)
    {
        long heads = x.shape[1], dim = x.shape[3];
        return x.squeeze(0).index_select(1, PadIndex)                                        // (H, J·Tmax, D)
            .view(heads, Count, MaxLength, dim)
            .transpose(0, 1);                                                                // (J, H, Tmax, D)
    }

    /// <summary>Per-prompt attention output → packed. y: [J, H, Tmax, D] → [1, ΣT, H·D]</summary>
    public Tensor Unpad(Tensor y)
    {
        long heads = y.shape[1], dim = y.shape[3];
        return y.transpose(1, 2)                                                             // (J, Tmax, H, D)
            .reshape(Count * MaxLength, heads * dim)
            .index_select(0, UnpadIndex)                                                     // (ΣT, H·D)
            .unsqueeze(0);                                                                   // (1, ΣT, H·D)
    }
}
