using TinkerFlow.Types;

namespace TinkerFlow.Internal;

/// <summary>
/// Splits one forward/forward_backward call into requests the way SDK 0.7–0.24.1 does (wire-protocol §10.1):
/// greedily, in order, starting a new chunk when the current one holds <c>maxDatums</c> datums or when adding the
/// next datum would push a non-empty chunk past <c>maxBytes</c> estimated bytes.
/// </summary>
internal static class DatumChunker
{
    /// <summary>Estimated wire bytes of one datum: 10 per token (raw bytes for images, location length for
    /// asset pointers) plus 10 per loss-input element.</summary>
    public static long EstimateBytes(Datum datum)
    {
        long total = 0;
        foreach (var chunk in datum.ModelInput.Chunks)
        {
            total += chunk switch
            {
                EncodedTextChunk text => 10L * text.Tokens.Count,
                ImageChunk image => image.Data.Length,
                ImageAssetPointerChunk pointer => pointer.Location.Length,
                _ => 10L * chunk.Length,
            };
        }

        foreach (var tensor in datum.LossFnInputs.Values)
        {
            total += 10L * tensor.ElementCount;
        }

        return total;
    }

    public static List<IReadOnlyList<Datum>> Split(IReadOnlyList<Datum> data, int maxDatums, long maxBytes)
    {
        var chunks = new List<IReadOnlyList<Datum>>();
        var current = new List<Datum>();
        long currentBytes = 0;
        foreach (var datum in data)
        {
            var bytes = EstimateBytes(datum);
            if (current.Count == maxDatums || (current.Count > 0 && currentBytes + bytes > maxBytes))
            {
                chunks.Add(current);
                current = [];
                currentBytes = 0;
            }

            current.Add(datum);
            currentBytes += bytes;
        }

        if (current.Count > 0)
        {
            chunks.Add(current);
        }

        return chunks;
    }
}
