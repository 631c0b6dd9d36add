namespace TinkerFlow.Tokenization;

/// <summary>
/// Builds the <see cref="InvalidDataException"/> thrown for a <c>tokenizer.json</c> or <c>tokenizer_config.json</c>
/// that is malformed or uses a feature TinkerFlow does not support. The message names the file and the field.
/// </summary>
internal static class HfTokenizerFileError
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">The file path (or resource name) that was being read.</param>
    /// <param name="problem">What is wrong, naming the JSON field.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    /// <returns>The exception, for the caller to throw.</returns>
    public static InvalidDataException Create(string source, string problem, Exception? innerException = null) =>
        new($"Tokenizer file '{source}': {problem}", innerException);
}
