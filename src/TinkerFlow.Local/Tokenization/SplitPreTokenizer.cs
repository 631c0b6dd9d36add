using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace TinkerFlow.Local.Tokenization;

/// <summary>
/// Hugging Face <c>Split</c> pre-tokenizers with <c>behavior: "Isolated"</c>, applied in sequence: each regex
/// splits every piece the previous one produced into its matches and the gaps between them, so no text is dropped.
/// </summary>
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

    private List<(int Offset, int Length)> Split(string text)
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
