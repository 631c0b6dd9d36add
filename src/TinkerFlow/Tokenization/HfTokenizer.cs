using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace TinkerFlow.Tokenization;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer (GPT-2, Qwen2/Qwen3 style) loaded from <c>tokenizer.json</c> and
/// <c>tokenizer_config.json</c>, encoding through a Microsoft.ML.Tokenizers <see cref="BpeTokenizer"/>.
/// </summary>
/// <remarks>
/// Encoding follows the reference <c>tokenizers</c> library: added tokens are cut out first (longest match wins),
/// each remaining segment is normalized (e.g. NFC), split by the pre-tokenizer regexes and merged by BPE.
/// Decoding maps every id to its bytes and reads the concatenation as UTF-8, so a character split across
/// tokens decodes whole; an incomplete sequence at the end becomes U+FFFD (as <c>errors="replace"</c> does).
/// Instances are immutable and safe to share between threads.
/// </remarks>
internal sealed class HfTokenizer
{
    private readonly BpeTokenizer _bpe;
    private readonly Normalizer? _normalizer;
    private readonly SplitPreTokenizer _preTokenizer;
    private readonly bool _ignoreMerges;
    private readonly int[] _prefixIds;
    private readonly int[] _suffixIds;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly Dictionary<string, int> _addedTokens;
    private readonly Regex? _addedTokenPattern;
    private readonly string?[] _idToToken;
    private readonly byte[]?[] _idToBytes;
    private readonly bool[] _isSpecial;

    private HfTokenizer(HfTokenizerDefinition definition)
    {
        Source = definition.Source;
        _vocabulary = definition.Vocabulary;
        try
        {
            // Normalization and pre-tokenization run here (see EncodeText), so the BPE model sees one piece at a time.
            _bpe = BpeTokenizer.Create(new BpeOptions(definition.Vocabulary)
            {
                Merges = definition.Merges,
                ByteLevel = true,
                PreTokenizer = WholeTextPreTokenizer.Instance,
                Normalizer = null,
            });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw HfTokenizerFileError.Create(definition.Source, $"Microsoft.ML.Tokenizers rejected the BPE model ({e.Message}).", e);
        }

        _normalizer = definition.Normalizer;
        _preTokenizer = definition.PreTokenizer;
        _ignoreMerges = definition.IgnoreMerges;
        _prefixIds = definition.PrefixIds;
        _suffixIds = definition.SuffixIds;
        _addedTokens = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (HfAddedToken token in definition.AddedTokens)
        {
            _addedTokens[token.Content] = token.Id;
        }

        int maxId = -1;
        foreach (int id in _vocabulary.Values)
        {
            maxId = Math.Max(maxId, id);
        }

        foreach (HfAddedToken token in definition.AddedTokens)
        {
            maxId = Math.Max(maxId, token.Id);
        }

        foreach (int id in (int[])[.. _prefixIds, .. _suffixIds])
        {
            if (!_vocabulary.ContainsValue(id) && !definition.AddedTokens.Any(t => t.Id == id))
            {
                throw HfTokenizerFileError.Create(definition.Source, $"post_processor adds id {id}, which is not a token of the tokenizer.");
            }
        }

        VocabSize = maxId + 1;
        _idToToken = new string?[VocabSize];
        _idToBytes = new byte[VocabSize][];
        _isSpecial = new bool[VocabSize];
        foreach ((string token, int id) in _vocabulary)
        {
            _idToToken[id] = token;
            _idToBytes[id] = ByteLevelAlphabet.Decode(token);
        }

        foreach (HfAddedToken token in definition.AddedTokens)
        {
            _idToToken[token.Id] = token.Content;
            _idToBytes[token.Id] = Encoding.UTF8.GetBytes(token.Content);
            _isSpecial[token.Id] = token.Special;
        }

        if (_addedTokens.Count > 0)
        {
            // Longest first, so that alternation picks the longest token at the leftmost position.
            IEnumerable<string> alternatives = _addedTokens.Keys
                .OrderByDescending(t => t.Length)
                .ThenBy(t => t, StringComparer.Ordinal)
                .Select(Regex.Escape);
            _addedTokenPattern = new Regex(string.Join('|', alternatives), RegexOptions.CultureInvariant);
        }

        SpecialTokens = _addedTokens.AsReadOnly();
        ChatTemplate = definition.ChatTemplate;
        string configSource = definition.ConfigSource ?? definition.Source;
        EosTokenId = ResolveToken(definition.EosToken!, "eos_token", configSource);
        BosTokenId = definition.BosToken is null ? null : ResolveToken(definition.BosToken, "bos_token", configSource);
        PadTokenId = definition.PadToken is null ? null : ResolveToken(definition.PadToken, "pad_token", configSource);
    }

    /// <summary>Where the tokenizer was loaded from (a path or a resource name).</summary>
    public string Source { get; }

    /// <summary>The number of ids: the highest id in the vocabulary or the added tokens, plus one.</summary>
    public int VocabSize { get; }

    /// <summary>The end-of-sequence id: <c>eos_token</c> of <c>tokenizer_config.json</c> (Qwen3: <c>&lt;|im_end|&gt;</c>).</summary>
    public int EosTokenId { get; }

    /// <summary>The beginning-of-sequence id (<c>bos_token</c>), or null when the model has none (Qwen3 has none).</summary>
    public int? BosTokenId { get; }

    /// <summary>The padding id (<c>pad_token</c>), or null when none is configured.</summary>
    public int? PadTokenId { get; }

    /// <summary>
    /// Every added token (content to id), e.g. <c>&lt;|im_start|&gt;</c>, <c>&lt;think&gt;</c>: each encodes as one id
    /// when special tokens are parsed.
    /// </summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>The Jinja chat template from <c>tokenizer_config.json</c>, or null.</summary>
    public string? ChatTemplate { get; }

    /// <summary>Loads <c>tokenizer.json</c> (or <c>tokenizer.json.gz</c>) from a file or a model directory.</summary>
    /// <param name="path">
    /// A model directory holding <c>tokenizer.json</c> or <c>tokenizer.json.gz</c>, or the file itself (plain or gzipped).
    /// A <c>tokenizer_config.json</c> next to it is read too, when present.
    /// </param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="FileNotFoundException">Neither file exists.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or unsupported; the message names it.</exception>
    public static HfTokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string file = path;
        if (Directory.Exists(path))
        {
            file = Path.Combine(path, "tokenizer.json");
            if (!File.Exists(file) && File.Exists(file + ".gz"))
            {
                file += ".gz";
            }
        }

        if (!File.Exists(file))
        {
            throw new FileNotFoundException(
                $"No tokenizer at '{file}': expected a Hugging Face tokenizer.json (or tokenizer.json.gz).", file);
        }

        string config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "tokenizer_config.json");
        return Load(file, File.Exists(config) ? config : null);
    }

    /// <summary>Loads a tokenizer from explicit file paths.</summary>
    /// <param name="tokenizerJsonPath">The <c>tokenizer.json</c> file, plain or gzipped.</param>
    /// <param name="tokenizerConfigPath">The <c>tokenizer_config.json</c> file (plain or gzipped), or null.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="InvalidDataException">A file is missing, malformed or unsupported; the message names it.</exception>
    public static HfTokenizer Load(string tokenizerJsonPath, string? tokenizerConfigPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenizerJsonPath);
        byte[] json = HfTokenizerReader.ReadFile(tokenizerJsonPath);
        byte[]? config = tokenizerConfigPath is null ? null : HfTokenizerReader.ReadFile(tokenizerConfigPath);
        return FromBytes(json, tokenizerJsonPath, config, tokenizerConfigPath);
    }

    /// <summary>Builds a tokenizer from file contents already in memory (e.g. embedded resources).</summary>
    /// <param name="tokenizerJson">UTF-8 (or gzipped) <c>tokenizer.json</c> content.</param>
    /// <param name="source">A name for the content, used in error messages.</param>
    /// <param name="tokenizerConfigJson">UTF-8 (or gzipped) <c>tokenizer_config.json</c> content, or null.</param>
    /// <param name="configSource">A name for the config content, used in error messages.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="InvalidDataException">The content is malformed or unsupported.</exception>
    public static HfTokenizer FromBytes(byte[] tokenizerJson, string source, byte[]? tokenizerConfigJson = null, string? configSource = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizerJson);
        ArgumentException.ThrowIfNullOrEmpty(source);
        byte[] json = HfTokenizerReader.Inflate(tokenizerJson, source);
        byte[]? config = tokenizerConfigJson is null ? null : HfTokenizerReader.Inflate(tokenizerConfigJson, configSource ?? source);
        return new HfTokenizer(HfTokenizerReader.Parse(json, source, config, configSource));
    }

    /// <summary>Ids the post-processor puts before a sequence when special tokens are added (Llama 3: <c>&lt;|begin_of_text|&gt;</c>).</summary>
    public IReadOnlyList<int> PrefixIds => _prefixIds;

    /// <summary>Ids the post-processor puts after a sequence when special tokens are added.</summary>
    public IReadOnlyList<int> SuffixIds => _suffixIds;

    /// <summary>Encodes text to token ids.</summary>
    /// <param name="text">The text.</param>
    /// <param name="parseSpecialTokens">
    /// When true, the text of any added token (<see cref="SpecialTokens"/>) encodes as that token's id; when false,
    /// it is encoded as ordinary text (use for untrusted content).
    /// </param>
    /// <param name="addSpecialTokens">
    /// When true, the post-processor's tokens are added around the ids (Hugging Face <c>add_special_tokens=True</c>;
    /// Llama 3 prepends <c>&lt;|begin_of_text|&gt;</c>, Qwen3 adds nothing). False by default, like the raw text encode.
    /// </param>
    /// <returns>The ids (for empty text, only the post-processor's tokens when they are asked for).</returns>
    public int[] Encode(string text, bool parseSpecialTokens = true, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens)
        {
            ids.AddRange(_prefixIds);
        }

        if (!parseSpecialTokens || _addedTokenPattern is null)
        {
            EncodeText(text, ids);
        }
        else
        {
            int position = 0;
            for (Match match = _addedTokenPattern.Match(text); match.Success; match = match.NextMatch())
            {
                if (match.Index > position)
                {
                    EncodeText(text[position..match.Index], ids);
                }

                ids.Add(_addedTokens[match.Value]);
                position = match.Index + match.Length;
            }

            if (position < text.Length)
            {
                EncodeText(text[position..], ids);
            }
        }

        if (addSpecialTokens)
        {
            ids.AddRange(_suffixIds);
        }

        return [.. ids];
    }

    /// <summary>Normalizes a run of text without added tokens, splits it with the pre-tokenizer and merges each piece.</summary>
    private void EncodeText(string text, List<int> ids)
    {
        if (text.Length == 0)
        {
            return;
        }

        string normalized = _normalizer?.Normalize(text) ?? text;
        foreach ((int offset, int length) in _preTokenizer.PreTokenize(normalized))
        {
            string piece = normalized.Substring(offset, length);
            if (_ignoreMerges && _vocabulary.TryGetValue(ByteLevelAlphabet.Encode(Encoding.UTF8.GetBytes(piece)), out int whole))
            {
                ids.Add(whole);
                continue;
            }

            ids.AddRange(_bpe.EncodeToIds(piece));
        }
    }

    /// <summary>Decodes ids to text (see the remarks on UTF-8 handling).</summary>
    /// <param name="ids">The token ids; ids outside the vocabulary (e.g. a padded embedding row) are skipped.</param>
    /// <param name="skipSpecialTokens">When true, added tokens flagged <c>special</c> are left out.</param>
    /// <returns>The text.</returns>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false) =>
        Encoding.UTF8.GetString(DecodeBytes(ids, skipSpecialTokens));

    /// <summary>Decodes ids to the raw bytes they stand for; feed these to a <see cref="Decoder"/> to stream text.</summary>
    /// <param name="ids">The token ids; ids outside the vocabulary are skipped.</param>
    /// <param name="skipSpecialTokens">When true, added tokens flagged <c>special</c> are left out.</param>
    /// <returns>The bytes (usually UTF-8, possibly cut mid-character).</returns>
    public byte[] DecodeBytes(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_idToBytes.Length || _idToBytes[id] is not { } tokenBytes
                || (skipSpecialTokens && _isSpecial[id]))
            {
                continue;
            }

            bytes.AddRange(tokenBytes);
        }

        return [.. bytes];
    }

    /// <summary>
    /// The id of a vocabulary entry in its stored form (byte-level: <c>"Ġworld"</c> for " world") or of an added
    /// token (<c>"&lt;|im_end|&gt;"</c>), or null.
    /// </summary>
    /// <param name="token">The token string.</param>
    /// <returns>The id, or null when the string is not a token.</returns>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (_addedTokens.TryGetValue(token, out int added))
        {
            return added;
        }

        return _vocabulary.TryGetValue(token, out int id) ? id : null;
    }

    /// <summary>The stored form of an id (byte-level for vocabulary entries, plain for added tokens), or null.</summary>
    /// <param name="id">The token id.</param>
    /// <returns>The token string, or null for an id with no token.</returns>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>Whether the id is an added token flagged <c>special</c> in <c>tokenizer.json</c>.</summary>
    /// <param name="id">The token id.</param>
    /// <returns>True for special tokens such as <c>&lt;|im_end|&gt;</c>.</returns>
    public bool IsSpecialToken(int id) => (uint)id < (uint)_isSpecial.Length && _isSpecial[id];

    private int ResolveToken(string token, string setting, string source) =>
        TokenToId(token) ?? throw HfTokenizerFileError.Create(source, $"\"{setting}\" is \"{token}\", which is not a token of the tokenizer.");
}
