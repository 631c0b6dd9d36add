using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Supervised;

/// <summary>Truncation and the one-token shift over model-input chunks, shared by SFT and RL datum builders.</summary>
internal static class ChunkSequence
{
    /// <summary>
    /// Right-truncates to <paramref name="maxLength"/> positions (text chunks may be cut, image chunks are dropped
    /// whole), then drops empty text chunks and trailing non-text chunks.
    /// </summary>
    /// <returns>The kept chunks and their total length (a prefix of the original positions).</returns>
    public static (List<ModelInputChunk> Chunks, int Length) Truncate(IReadOnlyList<ModelInputChunk> chunks, int? maxLength)
    {
        var kept = new List<ModelInputChunk>();
        var length = 0;
        foreach (var chunk in chunks)
        {
            var room = maxLength is { } max ? max - length : int.MaxValue;
            if (room <= 0)
            {
                break;
            }

            if (chunk.Length <= room)
            {
                kept.Add(chunk);
                length += chunk.Length;
                continue;
            }

            if (chunk is EncodedTextChunk text)
            {
                kept.Add(new EncodedTextChunk(text.Tokens.Take(room).ToArray()));
                length += room;
            }

            break;
        }

        kept.RemoveAll(c => c is EncodedTextChunk { Length: 0 });
        while (kept.Count > 0 && kept[^1] is not EncodedTextChunk)
        {
            length -= kept[^1].Length;
            kept.RemoveAt(kept.Count - 1);
        }

        return (kept, length);
    }

    /// <summary>
    /// The one-token shift: the input is every position but the last, the targets every position but the first
    /// (0 where the position is an image).
    /// </summary>
    /// <param name="chunks">Cleaned chunks (from <see cref="Truncate"/>), ending in a text chunk.</param>
    /// <param name="length">Their total length, at least 2.</param>
    /// <returns>The shifted input and the target tokens, both <paramref name="length"/> − 1 long.</returns>
    public static (ModelInput Input, long[] Targets) Shift(List<ModelInputChunk> chunks, int length)
    {
        var targets = new long[length - 1];
        var position = 0;
        foreach (var chunk in chunks)
        {
            for (var i = 0; i < chunk.Length; i++, position++)
            {
                if (position > 0)
                {
                    targets[position - 1] = chunk is EncodedTextChunk text ? text.Tokens[i] : 0;
                }
            }
        }

        var input = new List<ModelInputChunk>(chunks);
        var last = (EncodedTextChunk)input[^1];
        input[^1] = new EncodedTextChunk(last.Tokens.Take(last.Length - 1).ToArray());
        if (input[^1].Length == 0)
        {
            input.RemoveAt(input.Count - 1);
        }

        return (new ModelInput { Chunks = input }, targets);
    }
}
