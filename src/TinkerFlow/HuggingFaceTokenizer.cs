using TinkerFlow.Tokenization;

namespace TinkerFlow;

/// <summary>
/// A tokenizer loaded from a Hugging Face <c>tokenizer.json</c> (and the <c>tokenizer_config.json</c> next to it): byte-level
/// BPE tokenizers such as GPT-2's, Llama 3's and Qwen2/Qwen3's, encoded with Microsoft.ML.Tokenizers. Loading needs no
/// model weights. Tokenizers of another kind (SentencePiece-style BPE with byte fallback, WordPiece, Unigram) are refused
/// with an <see cref="InvalidDataException"/> naming the file and the field, never encoded differently.
/// Instances are immutable and safe to share between threads.
/// </summary>
public sealed class HuggingFaceTokenizer : TinkerTokenizer
{
    internal HuggingFaceTokenizer(string name, HfTokenizer inner)
    {
        Name = name;
        Inner = inner;
    }

    /// <summary>The underlying tokenizer.</summary>
    internal HfTokenizer Inner { get; }

    /// <inheritdoc/>
    public override string Name { get; }

    /// <summary>Where the tokenizer was loaded from (a path or a resource name).</summary>
    public string Source => Inner.Source;

    /// <inheritdoc/>
    public override int VocabSize => Inner.VocabSize;

    /// <summary>The end-of-sequence id: <c>eos_token</c> of <c>tokenizer_config.json</c> (Qwen3: <c>&lt;|im_end|&gt;</c>).</summary>
    public override int EosTokenId => Inner.EosTokenId;

    /// <summary>The beginning-of-sequence id (<c>bos_token</c>), or null when the model has none (Qwen3 has none).</summary>
    public override int? BosTokenId => Inner.BosTokenId;

    /// <summary>The padding id (<c>pad_token</c>), or null when none is configured.</summary>
    public int? PadTokenId => Inner.PadTokenId;

    /// <summary>The Jinja chat template of <c>tokenizer_config.json</c>, or null.</summary>
    public string? ChatTemplate => Inner.ChatTemplate;

    /// <summary>Every added token (content to id), e.g. <c>&lt;|im_start|&gt;</c>; each encodes as one id when special tokens are allowed.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => Inner.SpecialTokens;

    /// <summary>Loads a tokenizer from a model folder or a file.</summary>
    /// <param name="path">
    /// A folder holding <c>tokenizer.json</c> (or <c>tokenizer.json.gz</c>), or that file itself (plain or gzipped).
    /// A <c>tokenizer_config.json</c> next to it is read too, when present (end-of-sequence token, chat template).
    /// </param>
    /// <param name="name">The tokenizer's <see cref="Name"/>; by default the folder's name.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="FileNotFoundException">There is no tokenizer file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or of an unsupported kind; the message names it and the field.</exception>
    public static HuggingFaceTokenizer Load(string path, string? name = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        HfTokenizer inner = HfTokenizer.Load(path);
        return new HuggingFaceTokenizer(name ?? DefaultName(path), inner);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<int> Encode(string text, bool allowSpecialTokens = true) => Inner.Encode(text, allowSpecialTokens);

    /// <summary>
    /// Encodes text, adding the post-processor's special tokens of <c>tokenizer.json</c> when asked (Hugging Face
    /// <c>add_special_tokens=True</c>: Llama 3 prepends <c>&lt;|begin_of_text|&gt;</c>; Qwen3 adds nothing).
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="allowSpecialTokens">When true, added-token strings such as <c>&lt;|eot_id|&gt;</c> map to their ids.</param>
    /// <param name="addSpecialTokens">When true, add the post-processor's tokens.</param>
    /// <returns>The token ids.</returns>
    public override IReadOnlyList<int> Encode(string text, bool allowSpecialTokens, bool addSpecialTokens) =>
        Inner.Encode(text, allowSpecialTokens, addSpecialTokens);

    /// <inheritdoc/>
    public override string Decode(IEnumerable<int> tokens) => Inner.Decode(tokens);

    /// <summary>Decodes ids to text, optionally leaving out added tokens flagged <c>special</c>.</summary>
    /// <param name="tokens">The token ids; ids outside the vocabulary are skipped.</param>
    /// <param name="skipSpecialTokens">When true, special tokens such as <c>&lt;|im_end|&gt;</c> are left out.</param>
    /// <returns>The text.</returns>
    public string Decode(IEnumerable<int> tokens, bool skipSpecialTokens) => Inner.Decode(tokens, skipSpecialTokens);

    /// <inheritdoc/>
    public override int? TokenToId(string token) => Inner.TokenToId(token);

    /// <summary>The stored form of an id (byte-level, e.g. <c>"Ġworld"</c>, for vocabulary entries), or null.</summary>
    /// <param name="id">The token id.</param>
    /// <returns>The token string, or null for an id with no token.</returns>
    public string? IdToToken(int id) => Inner.IdToToken(id);

    /// <summary>Whether the id is an added token flagged <c>special</c>.</summary>
    /// <param name="id">The token id.</param>
    /// <returns>True for special tokens such as <c>&lt;|im_end|&gt;</c>.</returns>
    public bool IsSpecialToken(int id) => Inner.IsSpecialToken(id);

    private static string DefaultName(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        string folder = Directory.Exists(full) ? full : Path.GetDirectoryName(full) ?? full;
        return Path.GetFileName(folder) is { Length: > 0 } leaf ? leaf : full;
    }
}
