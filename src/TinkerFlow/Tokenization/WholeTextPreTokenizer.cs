using Microsoft.ML.Tokenizers;

namespace TinkerFlow.Tokenization;

/// <summary>
/// A pre-tokenizer that leaves the text whole: <see cref="HfTokenizer"/> splits text itself and hands the BPE model one
/// piece at a time (Microsoft.ML.Tokenizers would otherwise apply its default whitespace split).
/// </summary>
internal sealed class WholeTextPreTokenizer : PreTokenizer
{
    /// <summary>The shared instance.</summary>
    public static WholeTextPreTokenizer Instance { get; } = new();

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) =>
        string.IsNullOrEmpty(text) ? [] : [(0, text.Length)];

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) =>
        text.IsEmpty ? [] : [(0, text.Length)];
}
