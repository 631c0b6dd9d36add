using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace TinkerFlow.Tokenization;

/// <summary>
/// Hugging Face <c>Split</c> pre-tokenizers with <c>behavior: "Isolated"</c>, applied in sequence: each regex
/// splits every piece the previous one produced into its matches and the gaps between them, so no text is dropped.
/// </summary>
/// <remarks>
/// The reference library matches its regexes on code points, .NET on UTF-16 units: <c>\p{L}</c> does not match either
/// half of a surrogate pair, so "a𝐀" would split in two. Text with surrogate pairs is therefore matched on a shadow
/// string in which each pair becomes one Basic Multilingual Plane character of the same Unicode category, and the
/// matches are mapped back to the original offsets.
/// </remarks>
internal sealed class SplitPreTokenizer : PreTokenizer
{
    private readonly Regex[] _patterns;

    /// <summary>Creates a pre-tokenizer that applies the patterns in order.</summary>
    public SplitPreTokenizer(IReadOnlyList<Regex> patterns) => _patterns = [.. patterns];

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) =>
        string.IsNullOrEmpty(text) ? [] : Split(text);

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) =>
        text.IsEmpty ? [] : Split(text.ToString());

    /// <summary>Per Unicode category, a BMP character of that category that is not white space (for the shadow string).</summary>
    private static readonly char[] s_placeholders = BuildPlaceholders();

    private static char[] BuildPlaceholders()
    {
        var placeholders = new char[32];
        for (int c = 0x100; c < 0xD800; c++)
        {
            int category = (int)char.GetUnicodeCategory((char)c);
            if (placeholders[category] == '\0' && !char.IsWhiteSpace((char)c))
            {
                placeholders[category] = (char)c;
            }
        }

        placeholders[(int)UnicodeCategory.PrivateUse] = '\uE000';
        return placeholders;
    }

    private List<(int Offset, int Length)> Split(string text)
    {
        int firstSurrogate = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (firstSurrogate < 0)
        {
            return SplitCodeUnits(text);
        }

        // One shadow char per code point; starts[i] is where shadow char i begins in the original text.
        var shadow = new char[text.Length];
        var starts = new int[text.Length + 1];
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            starts[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]));
                shadow[n++] = s_placeholders[(int)category] is var p and not '\0' ? p : text[i];
                i++;
            }
            else
            {
                shadow[n++] = text[i];
            }
        }

        starts[n] = text.Length;
        var result = SplitCodeUnits(new string(shadow, 0, n));
        for (int k = 0; k < result.Count; k++)
        {
            (int offset, int length) = result[k];
            result[k] = (starts[offset], starts[offset + length] - starts[offset]);
        }

        return result;
    }

    private List<(int Offset, int Length)> SplitCodeUnits(string text)
    {
        var pieces = new List<(int Offset, int Length)> { (0, text.Length) };
        foreach (Regex pattern in _patterns)
        {
            var next = new List<(int Offset, int Length)>(pieces.Count * 2);
            foreach ((int offset, int length) in pieces)
            {
                int position = offset;
                int end = offset + length;
                Match match = pattern.Match(text, offset, length);
                while (match.Success)
                {
                    if (match.Length > 0)
                    {
                        if (match.Index > position)
                        {
                            next.Add((position, match.Index - position));
                        }

                        next.Add((match.Index, match.Length));
                        position = match.Index + match.Length;
                    }

                    match = match.NextMatch();
                }

                if (end > position)
                {
                    next.Add((position, end - position));
                }
            }

            pieces = next;
        }

        return pieces;
    }
}
