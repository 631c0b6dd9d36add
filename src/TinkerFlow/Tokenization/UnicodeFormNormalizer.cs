using System.Text;
using Microsoft.ML.Tokenizers;

namespace TinkerFlow.Tokenization;

/// <summary>
/// A Microsoft.ML.Tokenizers normalizer for the Hugging Face <c>NFC</c>/<c>NFD</c>/<c>NFKC</c>/<c>NFKD</c>
/// normalizers (the library ships none of them).
/// </summary>
internal sealed class UnicodeFormNormalizer : Normalizer
{
    /// <summary>Creates a normalizer for one Unicode normalization form.</summary>
    public UnicodeFormNormalizer(NormalizationForm form) => Form = form;

    /// <summary>The normalization form applied.</summary>
    public NormalizationForm Form { get; }

    /// <inheritdoc />
    public override string Normalize(string original) =>
        original.IsNormalized(Form) ? original : original.Normalize(Form);

    /// <inheritdoc />
    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
