using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace TinkerFlow.Tokenization;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> (plain or gzipped) and its optional <c>tokenizer_config.json</c>
/// with System.Text.Json. Only byte-level BPE tokenizers (GPT-2, Qwen2/3 and the like) are accepted; anything
/// else fails with an <see cref="InvalidDataException"/> naming the file and the field.
/// </summary>
internal static class HfTokenizerReader
{
    /// <summary>The regex the <c>ByteLevel</c> pre-tokenizer applies when its <c>use_regex</c> is true (GPT-2's).</summary>
    internal const string Gpt2Pattern =
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly string[] s_eosFallbacks = ["<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>"];

    /// <summary>Reads a file's bytes, inflating it when it starts with the gzip magic number.</summary>
    public static byte[] ReadFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw HfTokenizerFileError.Create(path, $"cannot be read ({e.Message}).", e);
        }

        return Inflate(bytes, path);
    }

    /// <summary>Returns <paramref name="bytes"/>, inflated first when they are gzip data.</summary>
    public static byte[] Inflate(byte[] bytes, string source)
    {
        if (bytes.Length < 2 || bytes[0] != 0x1F || bytes[1] != 0x8B)
        {
            return bytes;
        }

        try
        {
            using var input = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var output = new MemoryStream(bytes.Length * 6);
            input.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw HfTokenizerFileError.Create(source, "looks gzipped but does not inflate.", e);
        }
    }

    /// <summary>Parses and validates the two files.</summary>
    /// <param name="tokenizerJson">UTF-8 <c>tokenizer.json</c> content.</param>
    /// <param name="source">Its path or resource name, for messages.</param>
    /// <param name="configJson">UTF-8 <c>tokenizer_config.json</c> content, or null.</param>
    /// <param name="configSource">Its path or resource name, for messages.</param>
    public static HfTokenizerDefinition Parse(
        byte[] tokenizerJson, string source, byte[]? configJson, string? configSource)
    {
        using JsonDocument document = ParseDocument(tokenizerJson, source);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw HfTokenizerFileError.Create(source, "the top level is not a JSON object.");
        }

        JsonElement model = Required(root, "model", JsonValueKind.Object, source);
        CheckModelOptions(model, source);
        CheckUnsupportedEncodeSteps(root, source);
        bool ignoreMerges = Optional(model, "ignore_merges") is { ValueKind: JsonValueKind.True };
        Dictionary<string, int> vocabulary = ReadVocabulary(model, source);
        List<string> merges = ReadMerges(model, vocabulary, source);
        List<HfAddedToken> addedTokens = ReadAddedTokens(root, source);
        Normalizer? normalizer = ReadNormalizer(Optional(root, "normalizer"), source);
        SplitPreTokenizer preTokenizer = ReadPreTokenizer(Optional(root, "pre_tokenizer"), source);
        CheckDecoder(Optional(root, "decoder"), source);
        (int[] prefix, int[] suffix) = ReadPostProcessor(Optional(root, "post_processor"), source);

        string? eos = null, bos = null, pad = null, template = null;
        if (configJson is not null)
        {
            configSource ??= "tokenizer_config.json";
            using JsonDocument configDocument = ParseDocument(configJson, configSource);
            JsonElement configRoot = configDocument.RootElement;
            if (configRoot.ValueKind != JsonValueKind.Object)
            {
                throw HfTokenizerFileError.Create(configSource, "the top level is not a JSON object.");
            }

            eos = ReadTokenSetting(configRoot, "eos_token", configSource);
            bos = ReadTokenSetting(configRoot, "bos_token", configSource);
            pad = ReadTokenSetting(configRoot, "pad_token", configSource);
            template = ReadChatTemplate(configRoot, configSource);
        }

        if (eos is null)
        {
            eos = s_eosFallbacks.FirstOrDefault(t => addedTokens.Any(a => a.Content == t) || vocabulary.ContainsKey(t))
                ?? throw HfTokenizerFileError.Create(source,
                    "no end-of-sequence token: pass a tokenizer_config.json with \"eos_token\" (none of "
                    + string.Join(", ", s_eosFallbacks) + " is in the vocabulary).");
        }

        return new HfTokenizerDefinition
        {
            Source = source,
            Vocabulary = vocabulary,
            Merges = merges,
            AddedTokens = addedTokens,
            Normalizer = normalizer,
            PreTokenizer = preTokenizer,
            IgnoreMerges = ignoreMerges,
            PrefixIds = prefix,
            SuffixIds = suffix,
            EosToken = eos,
            BosToken = bos,
            PadToken = pad,
            ChatTemplate = template,
            ConfigSource = configJson is null ? null : configSource,
        };
    }

    private static JsonDocument ParseDocument(ReadOnlyMemory<byte> json, string source)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw HfTokenizerFileError.Create(source, $"is not valid JSON ({e.Message}).", e);
        }
    }

    private static void CheckModelOptions(JsonElement model, string source)
    {
        string type = OptionalString(model, "type", source) ?? "BPE";
        if (type != "BPE")
        {
            throw HfTokenizerFileError.Create(source,
                $"model.type is \"{type}\"; only byte-level BPE tokenizers (model.type \"BPE\") are supported.");
        }

        if (Optional(model, "dropout") is { ValueKind: JsonValueKind.Number } dropout && dropout.GetDouble() != 0)
        {
            throw HfTokenizerFileError.Create(source, "model.dropout is set; BPE dropout is not supported.");
        }

        foreach (string affix in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
        {
            if (!string.IsNullOrEmpty(OptionalString(model, affix, source)))
            {
                throw HfTokenizerFileError.Create(source, $"model.{affix} is set; only byte-level BPE without affixes is supported.");
            }
        }

        if (Optional(model, "byte_fallback") is { ValueKind: JsonValueKind.True })
        {
            throw HfTokenizerFileError.Create(source, SentencePieceRefusal("model.byte_fallback is true"));
        }
    }

    /// <summary>
    /// The refusal for SentencePiece-style BPE (Llama 2, Mistral, Gemma): Microsoft.ML.Tokenizers reads those only from a
    /// SentencePiece <c>tokenizer.model</c>, not from <c>tokenizer.json</c>, and TinkerFlow has no reference ids to check
    /// a translation against, so it refuses rather than risk ids that differ from the model's.
    /// </summary>
    private static string SentencePieceRefusal(string what) =>
        $"{what}: this is a SentencePiece-style BPE tokenizer (byte fallback, Metaspace; Llama 2, Mistral, Gemma), which "
        + "TinkerFlow does not support. Only byte-level BPE tokenizers (GPT-2, Llama 3, Qwen2/Qwen3 style) are; "
        + "encoding this one differently from the model's own tokenizer would silently corrupt training data.";

    /// <summary>Refuses the encode-time steps that would change ids and that TinkerFlow does not implement.</summary>
    private static void CheckUnsupportedEncodeSteps(JsonElement root, string source)
    {
        foreach (string step in (string[])["truncation", "padding"])
        {
            if (Optional(root, step) is { } value && value.ValueKind != JsonValueKind.Null)
            {
                throw HfTokenizerFileError.Create(source,
                    $"\"{step}\" is set; encode-time {step} is not supported (set it to null and {step} on the caller's side).");
            }
        }
    }

    /// <summary>
    /// Reads the post-processor: the ids it puts before and after a single sequence when special tokens are added
    /// (HF <c>add_special_tokens=True</c>). <c>ByteLevel</c> only adjusts offsets, so it adds nothing.
    /// </summary>
    private static (int[] Prefix, int[] Suffix) ReadPostProcessor(JsonElement? element, string source)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        bool sequenceSeen = false;
        if (element is { ValueKind: JsonValueKind.Object } processor)
        {
            AddPostProcessor(processor, prefix, suffix, ref sequenceSeen, source);
        }

        return ([.. prefix], [.. suffix]);
    }

    private static void AddPostProcessor(
        JsonElement element, List<int> prefix, List<int> suffix, ref bool sequenceSeen, string source)
    {
        string type = OptionalString(element, "type", source) ?? "";
        switch (type)
        {
            case "ByteLevel":
                return;
            case "Sequence":
                foreach (JsonElement inner in Required(element, "processors", JsonValueKind.Array, source).EnumerateArray())
                {
                    AddPostProcessor(inner, prefix, suffix, ref sequenceSeen, source);
                }

                return;
            case "TemplateProcessing":
                if (sequenceSeen)
                {
                    throw HfTokenizerFileError.Create(source, "post_processor has several TemplateProcessing steps, which is not supported.");
                }

                JsonElement specials = Optional(element, "special_tokens") is { ValueKind: JsonValueKind.Object } s ? s : default;
                foreach (JsonElement piece in Required(element, "single", JsonValueKind.Array, source).EnumerateArray())
                {
                    if (Optional(piece, "Sequence") is { ValueKind: JsonValueKind.Object } sequence)
                    {
                        if (sequenceSeen || OptionalString(sequence, "id", source) != "A")
                        {
                            throw HfTokenizerFileError.Create(source, "post_processor.single must hold the sequence \"A\" exactly once.");
                        }

                        sequenceSeen = true;
                    }
                    else if (Optional(piece, "SpecialToken") is { ValueKind: JsonValueKind.Object } special
                        && OptionalString(special, "id", source) is { } name)
                    {
                        (sequenceSeen ? suffix : prefix).AddRange(TemplateTokenIds(specials, name, source));
                    }
                    else
                    {
                        throw HfTokenizerFileError.Create(source, "post_processor.single has an item that is neither a Sequence nor a SpecialToken.");
                    }
                }

                if (!sequenceSeen)
                {
                    throw HfTokenizerFileError.Create(source, "post_processor.single has no sequence \"A\".");
                }

                return;
            case "BertProcessing" or "RobertaProcessing":
                if (sequenceSeen)
                {
                    throw HfTokenizerFileError.Create(source, $"post_processor has {type} after another template, which is not supported.");
                }

                prefix.Add(PairTokenId(element, "cls", source));
                suffix.Add(PairTokenId(element, "sep", source));
                sequenceSeen = true;
                return;
            default:
                throw HfTokenizerFileError.Create(source,
                    $"post_processor type \"{type}\" is not supported (supported: ByteLevel, TemplateProcessing, BertProcessing, RobertaProcessing, Sequence).");
        }
    }

    private static IEnumerable<int> TemplateTokenIds(JsonElement specials, string name, string source)
    {
        if (specials.ValueKind != JsonValueKind.Object || Optional(specials, name) is not { ValueKind: JsonValueKind.Object } entry
            || Optional(entry, "ids") is not { ValueKind: JsonValueKind.Array } ids)
        {
            throw HfTokenizerFileError.Create(source, $"post_processor.special_tokens has no entry with \"ids\" for \"{name}\".");
        }

        var result = new List<int>();
        foreach (JsonElement id in ids.EnumerateArray())
        {
            if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out int value) || value < 0)
            {
                throw HfTokenizerFileError.Create(source, $"post_processor.special_tokens[\"{name}\"].ids holds something other than a non-negative id.");
            }

            result.Add(value);
        }

        return result;
    }

    private static int PairTokenId(JsonElement element, string field, string source)
    {
        if (Optional(element, field) is { ValueKind: JsonValueKind.Array } pair && pair.GetArrayLength() == 2
            && pair[1].ValueKind == JsonValueKind.Number && pair[1].TryGetInt32(out int id) && id >= 0)
        {
            return id;
        }

        throw HfTokenizerFileError.Create(source, $"post_processor.{field} is not a [\"token\", id] pair.");
    }

    private static Dictionary<string, int> ReadVocabulary(JsonElement model, string source)
    {
        JsonElement vocab = Required(model, "vocab", JsonValueKind.Object, source);
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
            {
                throw HfTokenizerFileError.Create(source, $"model.vocab[\"{entry.Name}\"] is not a non-negative integer id.");
            }

            vocabulary[entry.Name] = id;
        }

        for (int b = 0; b < 256; b++)
        {
            if (!vocabulary.ContainsKey(ByteLevelAlphabet.ToChar((byte)b).ToString()))
            {
                throw HfTokenizerFileError.Create(source,
                    $"model.vocab lacks the byte-level token for byte 0x{b:X2}; only byte-level BPE vocabularies are supported.");
            }
        }

        return vocabulary;
    }

    private static List<string> ReadMerges(JsonElement model, Dictionary<string, int> vocabulary, string source)
    {
        JsonElement array = Required(model, "merges", JsonValueKind.Array, source);
        var merges = new List<string>(array.GetArrayLength());
        int index = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            string? left = null, right = null;
            if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2
                && item[0].ValueKind == JsonValueKind.String && item[1].ValueKind == JsonValueKind.String)
            {
                left = item[0].GetString();
                right = item[1].GetString();
            }
            else if (item.ValueKind == JsonValueKind.String)
            {
                string text = item.GetString()!;
                int space = text.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0 && space == text.LastIndexOf(' ') && space < text.Length - 1)
                {
                    left = text[..space];
                    right = text[(space + 1)..];
                }
            }

            if (string.IsNullOrEmpty(left) || string.IsNullOrEmpty(right)
                || left.Contains(' ', StringComparison.Ordinal) || right.Contains(' ', StringComparison.Ordinal))
            {
                throw HfTokenizerFileError.Create(source,
                    $"model.merges[{index}] is neither a [\"left\", \"right\"] pair nor a \"left right\" string of two byte-level tokens.");
            }

            foreach (string part in (string[])[left, right, left + right])
            {
                if (!vocabulary.ContainsKey(part))
                {
                    throw HfTokenizerFileError.Create(source, $"model.merges[{index}] uses \"{part}\", which is not in model.vocab.");
                }
            }

            merges.Add(left + " " + right);
            index++;
        }

        return merges;
    }

    private static List<HfAddedToken> ReadAddedTokens(JsonElement root, string source)
    {
        var tokens = new List<HfAddedToken>();
        if (Optional(root, "added_tokens") is not { ValueKind: JsonValueKind.Array } array)
        {
            return tokens;
        }

        int index = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            string where = $"added_tokens[{index++}]";
            if (item.ValueKind != JsonValueKind.Object
                || Optional(item, "id") is not { ValueKind: JsonValueKind.Number } idElement
                || !idElement.TryGetInt32(out int id) || id < 0
                || Optional(item, "content") is not { ValueKind: JsonValueKind.String } contentElement
                || string.IsNullOrEmpty(contentElement.GetString()))
            {
                throw HfTokenizerFileError.Create(source, $"{where} needs a non-negative \"id\" and a non-empty \"content\".");
            }

            foreach (string flag in (string[])["lstrip", "rstrip", "single_word"])
            {
                if (Optional(item, flag) is { ValueKind: JsonValueKind.True })
                {
                    throw HfTokenizerFileError.Create(source, $"{where}.{flag} is true, which is not supported.");
                }
            }

            bool special = Optional(item, "special") is { ValueKind: JsonValueKind.True };
            tokens.Add(new HfAddedToken(id, contentElement.GetString()!, special));
        }

        return tokens;
    }

    private static Normalizer? ReadNormalizer(JsonElement? element, string source)
    {
        if (element is not { ValueKind: JsonValueKind.Object } normalizer)
        {
            return null;
        }

        string type = OptionalString(normalizer, "type", source) ?? "";
        switch (type)
        {
            case "NFC": return new UnicodeFormNormalizer(NormalizationForm.FormC);
            case "NFD": return new UnicodeFormNormalizer(NormalizationForm.FormD);
            case "NFKC": return new UnicodeFormNormalizer(NormalizationForm.FormKC);
            case "NFKD": return new UnicodeFormNormalizer(NormalizationForm.FormKD);
            case "Sequence":
                JsonElement list = Required(normalizer, "normalizers", JsonValueKind.Array, source);
                return list.GetArrayLength() switch
                {
                    0 => null,
                    1 => ReadNormalizer(list[0], source),
                    _ => throw HfTokenizerFileError.Create(source, "normalizer is a Sequence of several normalizers, which is not supported."),
                };
            default:
                throw HfTokenizerFileError.Create(source,
                    $"normalizer.type \"{type}\" is not supported (supported: NFC, NFD, NFKC, NFKD, or none).");
        }
    }

    private static SplitPreTokenizer ReadPreTokenizer(JsonElement? element, string source)
    {
        var patterns = new List<Regex>();
        bool byteLevel = false;
        if (element is { ValueKind: JsonValueKind.Object } preTokenizer)
        {
            AddPreTokenizer(preTokenizer, patterns, ref byteLevel, source);
        }

        if (!byteLevel)
        {
            throw HfTokenizerFileError.Create(source,
                "pre_tokenizer has no ByteLevel step; only byte-level BPE tokenizers are supported.");
        }

        return new SplitPreTokenizer(patterns);
    }

    private static void AddPreTokenizer(JsonElement element, List<Regex> patterns, ref bool byteLevel, string source)
    {
        string type = OptionalString(element, "type", source) ?? "";
        switch (type)
        {
            case "Sequence":
                foreach (JsonElement inner in Required(element, "pretokenizers", JsonValueKind.Array, source).EnumerateArray())
                {
                    AddPreTokenizer(inner, patterns, ref byteLevel, source);
                }

                break;
            case "Split":
                string behavior = OptionalString(element, "behavior", source) ?? "Isolated";
                if (behavior != "Isolated" || Optional(element, "invert") is { ValueKind: JsonValueKind.True })
                {
                    throw HfTokenizerFileError.Create(source,
                        $"pre_tokenizer Split with behavior \"{behavior}\" (or invert: true) is not supported; only \"Isolated\" is.");
                }

                JsonElement pattern = Required(element, "pattern", JsonValueKind.Object, source);
                if (OptionalString(pattern, "Regex", source) is { } regex)
                {
                    patterns.Add(CompilePattern(regex, source));
                }
                else if (OptionalString(pattern, "String", source) is { Length: > 0 } literal)
                {
                    patterns.Add(CompilePattern(Regex.Escape(literal), source));
                }
                else
                {
                    throw HfTokenizerFileError.Create(source, "pre_tokenizer Split has no pattern.Regex or pattern.String.");
                }

                break;
            case "ByteLevel":
                if (Optional(element, "add_prefix_space") is { ValueKind: JsonValueKind.True })
                {
                    throw HfTokenizerFileError.Create(source, "pre_tokenizer ByteLevel with add_prefix_space: true is not supported.");
                }

                if (Optional(element, "use_regex") is not { ValueKind: JsonValueKind.False })
                {
                    patterns.Add(CompilePattern(Gpt2Pattern, source));
                }

                byteLevel = true;
                break;
            case "Metaspace":
                throw HfTokenizerFileError.Create(source, SentencePieceRefusal("pre_tokenizer is Metaspace"));
            default:
                throw HfTokenizerFileError.Create(source,
                    $"pre_tokenizer type \"{type}\" is not supported (supported: Sequence, Split, ByteLevel).");
        }
    }

    private static Regex CompilePattern(string pattern, string source)
    {
        try
        {
            return new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw HfTokenizerFileError.Create(source, $"the pre-tokenizer regex does not compile in .NET ({e.Message}).", e);
        }
    }

    private static void CheckDecoder(JsonElement? element, string source)
    {
        if (element is not { ValueKind: JsonValueKind.Object } decoder)
        {
            return;
        }

        string type = OptionalString(decoder, "type", source) ?? "";
        if (type != "ByteLevel")
        {
            throw HfTokenizerFileError.Create(source, $"decoder.type \"{type}\" is not supported; only ByteLevel is.");
        }
    }

    private static string? ReadTokenSetting(JsonElement config, string name, string source)
    {
        return Optional(config, name) switch
        {
            null or { ValueKind: JsonValueKind.Null } => null,
            { ValueKind: JsonValueKind.String } s => s.GetString(),
            { ValueKind: JsonValueKind.Object } o when Optional(o, "content") is { ValueKind: JsonValueKind.String } c => c.GetString(),
            _ => throw HfTokenizerFileError.Create(source, $"\"{name}\" is neither a string, null, nor an object with \"content\"."),
        };
    }

    private static string? ReadChatTemplate(JsonElement config, string source)
    {
        switch (Optional(config, "chat_template"))
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return null;
            case { ValueKind: JsonValueKind.String } s:
                return s.GetString();
            case { ValueKind: JsonValueKind.Array } list:
                string? first = null;
                foreach (JsonElement item in list.EnumerateArray())
                {
                    string? name = item.ValueKind == JsonValueKind.Object ? OptionalString(item, "name", source) : null;
                    string? template = item.ValueKind == JsonValueKind.Object ? OptionalString(item, "template", source) : null;
                    if (template is null)
                    {
                        continue;
                    }

                    if (name == "default")
                    {
                        return template;
                    }

                    first ??= template;
                }

                return first;
            default:
                throw HfTokenizerFileError.Create(source, "\"chat_template\" is neither a string nor a list of {name, template}.");
        }
    }

    private static JsonElement? Optional(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) ? value : null;

    private static string? OptionalString(JsonElement element, string name, string source)
    {
        return Optional(element, name) switch
        {
            null or { ValueKind: JsonValueKind.Null } => null,
            { ValueKind: JsonValueKind.String } s => s.GetString(),
            _ => throw HfTokenizerFileError.Create(source, $"field \"{name}\" is not a string."),
        };
    }

    private static JsonElement Required(JsonElement element, string name, JsonValueKind kind, string source)
    {
        if (Optional(element, name) is { } value && value.ValueKind == kind)
        {
            return value;
        }

        throw HfTokenizerFileError.Create(source, $"field \"{name}\" is missing or is not a JSON {kind.ToString().ToLowerInvariant()}.");
    }
}
