namespace TinkerFlow;

/// <summary>
/// A model's tokenizer: text to token ids and back. The embedded engine returns one loaded from the model's
/// <c>tokenizer.json</c>; remote backends resolve one for the base model.
/// </summary>
public abstract class TinkerTokenizer
{
    /// <summary>The model (or tokenizer) name.</summary>
    public abstract string Name { get; }

    /// <summary>Number of token ids, including special tokens.</summary>
    public abstract int VocabSize { get; }

    /// <summary>The end-of-sequence token id (for chat models, the end-of-turn token).</summary>
    public abstract int EosTokenId { get; }

    /// <summary>The beginning-of-sequence token id, when the model has one.</summary>
    public virtual int? BosTokenId => null;

    /// <summary>Encodes text to token ids.</summary>
    /// <param name="text">The text.</param>
    /// <param name="allowSpecialTokens">When true, special-token strings such as <c>&lt;|im_end|&gt;</c> map to their ids.</param>
    /// <returns>The token ids.</returns>
    public abstract IReadOnlyList<int> Encode(string text, bool allowSpecialTokens = true);

    /// <summary>
    /// Encodes text to token ids, optionally adding the model's special tokens around them the way Hugging Face's
    /// <c>add_special_tokens=True</c> does (Llama 3 prepends <c>&lt;|begin_of_text|&gt;</c>; Qwen3 adds nothing).
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="allowSpecialTokens">When true, special-token strings such as <c>&lt;|im_end|&gt;</c> map to their ids.</param>
    /// <param name="addSpecialTokens">
    /// When true, add the special tokens. This base implementation prepends <see cref="BosTokenId"/> when there is one;
    /// <see cref="HuggingFaceTokenizer"/> follows the post-processor of its <c>tokenizer.json</c>.
    /// </param>
    /// <returns>The token ids.</returns>
    public virtual IReadOnlyList<int> Encode(string text, bool allowSpecialTokens, bool addSpecialTokens)
    {
        IReadOnlyList<int> ids = Encode(text, allowSpecialTokens);
        return addSpecialTokens && BosTokenId is int bos ? [bos, .. ids] : ids;
    }

    /// <summary>Decodes token ids to text.</summary>
    /// <param name="tokens">The token ids.</param>
    /// <returns>The text.</returns>
    public abstract string Decode(IEnumerable<int> tokens);

    /// <summary>Returns the id of a single-token string (e.g. a special token), or null.</summary>
    /// <param name="token">The token string.</param>
    /// <returns>The id, or null when the string is not one token.</returns>
    public abstract int? TokenToId(string token);
}
