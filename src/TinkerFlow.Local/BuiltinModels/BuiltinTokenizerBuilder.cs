using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using TinkerFlow.Tokenization;

namespace TinkerFlow.Local.BuiltinModels;

/// <summary>
/// Writes the files of the built-in <c>tinkerflow/tiny-qwen3</c> model: <c>tokenizer.json</c>,
/// <c>tokenizer_config.json</c> and <c>config.json</c>. The committed copies under <c>BuiltinModels/tiny-qwen3/</c>
/// must equal this output (a test checks it); after changing anything here, regenerate them with
/// <c>TINKERFLOW_REGENERATE_BUILTIN=1 dotnet test tests/TinkerFlow.Local.Tests --filter "FullyQualifiedName~BuiltinTokenizer"</c>.
/// </summary>
/// <remarks>
/// The tokenizer is a byte-level BPE in Hugging Face format: id <c>b</c> is byte <c>b</c> (0–255, written in the
/// GPT-2 byte alphabet), then <see cref="Merges"/> (common English pairs only, so digits and punctuation stay single
/// bytes, which suits arithmetic tasks), then the <see cref="AddedTokens"/>. Text is split by Qwen's regex (one digit
/// per piece) and is not normalized, so every string round-trips exactly.
/// </remarks>
internal static class BuiltinTokenizerBuilder
{
    /// <summary>Qwen2/Qwen3's pre-tokenizer regex (single digits, words with one leading non-letter, punctuation runs).</summary>
    public const string QwenPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The merges, in priority order, as plain text pairs (a leading space is a word start).</summary>
    public static IReadOnlyList<(string Left, string Right)> Merges { get; } =
    [
        (" ", "t"), ("h", "e"), (" ", "a"), ("i", "n"), ("e", "r"), (" ", "s"), (" ", "w"), ("o", "n"),
        ("r", "e"), (" t", "he"), ("a", "n"), ("o", "u"), (" ", "o"), ("a", "t"), ("e", "n"), (" ", "c"),
        ("i", "s"), ("e", "s"), (" ", "b"), ("o", "r"), ("e", "d"), (" ", "f"), ("i", "t"), (" ", "m"),
        (" ", "p"), ("in", "g"), ("a", "r"), ("a", "l"), (" ", "d"), (" ", "i"), ("l", "e"), (" ", "h"),
        ("n", "d"), (" a", "nd"), (" ", "l"), ("i", "c"), (" ", "n"), (" ", "e"), (" o", "f"), (" t", "o"),
        (" i", "n"), ("a", "s"), ("s", "t"), (" ", "r"), ("o", "m"), (" ", "g"), ("l", "l"), ("i", "on"),
        ("v", "e"), ("r", "o"), (" ", "y"), ("e", "t"), ("c", "h"), ("l", "y"), ("o", "t"), (" ", "u"),
        ("en", "t"), (" i", "s"), ("u", "t"),
    ];

    /// <summary>The added tokens after the merges, with Qwen3's <c>special</c> flags.</summary>
    public static IReadOnlyList<(string Content, bool Special)> AddedTokens { get; } =
    [
        ("<|endoftext|>", true), ("<|im_start|>", true), ("<|im_end|>", true), ("<think>", false), ("</think>", false),
    ];

    /// <summary>A ChatML template: <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c> per message.</summary>
    public const string ChatTemplate =
        "{%- for message in messages %}\n"
        + "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}\n"
        + "{%- endfor %}\n"
        + "{%- if add_generation_prompt %}\n"
        + "{{- '<|im_start|>assistant\\n' }}\n"
        + "{%- endif %}\n";

    /// <summary>Number of ids the tokenizer uses: 256 bytes, the merges and the added tokens.</summary>
    public static int TokenizerVocabSize => 256 + Merges.Count + AddedTokens.Count;

    /// <summary>The model's <c>vocab_size</c>: <see cref="TokenizerVocabSize"/> rounded up to a multiple of 64.</summary>
    public static int ModelVocabSize => (TokenizerVocabSize + 63) / 64 * 64;

    /// <summary>The three files, by file name.</summary>
    /// <returns>File name to UTF-8 text (LF line endings, final newline).</returns>
    public static IReadOnlyDictionary<string, string> BuildFiles() => new Dictionary<string, string>
    {
        ["config.json"] = BuildConfigJson(),
        ["tokenizer.json"] = BuildTokenizerJson(),
        ["tokenizer_config.json"] = BuildTokenizerConfigJson(),
    };

    /// <summary>The Hugging Face <c>tokenizer.json</c>.</summary>
    /// <returns>The JSON text.</returns>
    public static string BuildTokenizerJson()
    {
        var vocabulary = new List<string>(TokenizerVocabSize - AddedTokens.Count);
        for (int b = 0; b < 256; b++)
        {
            vocabulary.Add(ByteLevelAlphabet.ToChar((byte)b).ToString());
        }

        var merges = new List<(string Left, string Right)>(Merges.Count);
        foreach ((string left, string right) in Merges)
        {
            string l = ToByteLevel(left), r = ToByteLevel(right);
            if (!vocabulary.Contains(l) || !vocabulary.Contains(r) || vocabulary.Contains(l + r))
            {
                throw new InvalidOperationException($"Merge (\"{left}\", \"{right}\") uses a missing token or repeats one.");
            }

            merges.Add((l, r));
            vocabulary.Add(l + r);
        }

        string json = Write(writer =>
        {
            writer.WriteString("version", "1.0");
            writer.WriteNull("truncation");
            writer.WriteNull("padding");
            writer.WriteStartArray("added_tokens");
            for (int i = 0; i < AddedTokens.Count; i++)
            {
                writer.WriteStartObject();
                writer.WriteNumber("id", vocabulary.Count + i);
                writer.WriteString("content", AddedTokens[i].Content);
                writer.WriteBoolean("single_word", false);
                writer.WriteBoolean("lstrip", false);
                writer.WriteBoolean("rstrip", false);
                writer.WriteBoolean("normalized", false);
                writer.WriteBoolean("special", AddedTokens[i].Special);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteNull("normalizer");
            writer.WriteStartObject("pre_tokenizer");
            writer.WriteString("type", "Sequence");
            writer.WriteStartArray("pretokenizers");
            writer.WriteStartObject();
            writer.WriteString("type", "Split");
            writer.WriteStartObject("pattern");
            writer.WriteString("Regex", QwenPattern);
            writer.WriteEndObject();
            writer.WriteString("behavior", "Isolated");
            writer.WriteBoolean("invert", false);
            writer.WriteEndObject();
            WriteByteLevel(writer, null);
            writer.WriteEndArray();
            writer.WriteEndObject();
            WriteByteLevel(writer, "post_processor");
            WriteByteLevel(writer, "decoder");
            writer.WriteStartObject("model");
            writer.WriteString("type", "BPE");
            writer.WriteNull("dropout");
            writer.WriteNull("unk_token");
            writer.WriteString("continuing_subword_prefix", "");
            writer.WriteString("end_of_word_suffix", "");
            writer.WriteBoolean("fuse_unk", false);
            writer.WriteBoolean("byte_fallback", false);
            writer.WriteBoolean("ignore_merges", false);
            writer.WriteStartObject("vocab");
            for (int id = 0; id < vocabulary.Count; id++)
            {
                writer.WriteNumber(vocabulary[id], id);
            }

            writer.WriteEndObject();
            writer.WriteString("merges", MergesPlaceholder);
            writer.WriteEndObject();
        });

        // Utf8JsonWriter would spread each pair over four lines; write one pair per line instead.
        string pairs = string.Join(",\n", merges.Select(m =>
            $"      [{JsonSerializer.Serialize(m.Left, s_compact)}, {JsonSerializer.Serialize(m.Right, s_compact)}]"));
        return json.Replace($"\"{MergesPlaceholder}\"", "[\n" + pairs + "\n    ]", StringComparison.Ordinal);
    }

    /// <summary>The Hugging Face <c>tokenizer_config.json</c> (eos <c>&lt;|im_end|&gt;</c>, pad <c>&lt;|endoftext|&gt;</c>, ChatML template).</summary>
    /// <returns>The JSON text.</returns>
    public static string BuildTokenizerConfigJson() => Write(writer =>
    {
        writer.WriteBoolean("add_bos_token", false);
        writer.WriteBoolean("add_prefix_space", false);
        writer.WriteNull("bos_token");
        writer.WriteString("eos_token", "<|im_end|>");
        writer.WriteString("pad_token", "<|endoftext|>");
        writer.WriteNull("unk_token");
        writer.WriteStartArray("additional_special_tokens");
        writer.WriteStringValue("<|im_start|>");
        writer.WriteStringValue("<|im_end|>");
        writer.WriteEndArray();
        writer.WriteString("chat_template", ChatTemplate);
        writer.WriteBoolean("clean_up_tokenization_spaces", false);
        writer.WriteString("errors", "replace");
        writer.WriteNumber("model_max_length", 1024);
        writer.WriteBoolean("split_special_tokens", false);
        writer.WriteString("tokenizer_class", "Qwen2Tokenizer");
    });

    /// <summary>The Hugging Face Qwen3 <c>config.json</c> of the tiny model (d 128, 4 layers, GQA 4/2, fp32).</summary>
    /// <returns>The JSON text.</returns>
    public static string BuildConfigJson()
    {
        int firstAdded = 256 + Merges.Count;
        return Write(writer =>
        {
            writer.WriteStartArray("architectures");
            writer.WriteStringValue("Qwen3ForCausalLM");
            writer.WriteEndArray();
            writer.WriteBoolean("attention_bias", false);
            writer.WritePropertyName("attention_dropout");
            writer.WriteRawValue("0.0");
            writer.WriteNull("bos_token_id");
            writer.WriteNumber("eos_token_id", firstAdded + 2);
            writer.WriteNumber("pad_token_id", firstAdded);
            writer.WriteNumber("head_dim", 32);
            writer.WriteString("hidden_act", "silu");
            writer.WriteNumber("hidden_size", 128);
            writer.WritePropertyName("initializer_range");
            writer.WriteRawValue("0.02");
            writer.WriteNumber("intermediate_size", 384);
            writer.WriteNumber("max_position_embeddings", 1024);
            writer.WriteNumber("max_window_layers", 4);
            writer.WriteString("model_type", "qwen3");
            writer.WriteNumber("num_attention_heads", 4);
            writer.WriteNumber("num_hidden_layers", 4);
            writer.WriteNumber("num_key_value_heads", 2);
            writer.WritePropertyName("rms_norm_eps");
            writer.WriteRawValue("1e-06");
            writer.WriteNull("rope_scaling");
            writer.WritePropertyName("rope_theta");
            writer.WriteRawValue("10000.0");
            writer.WriteNull("sliding_window");
            writer.WriteBoolean("tie_word_embeddings", false);
            writer.WriteString("torch_dtype", "float32");
            writer.WriteBoolean("use_cache", true);
            writer.WriteBoolean("use_sliding_window", false);
            writer.WriteNumber("vocab_size", ModelVocabSize);
        });
    }

    private const string MergesPlaceholder = "@merges@";

    private static readonly JsonSerializerOptions s_compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string ToByteLevel(string text) => ByteLevelAlphabet.Encode(Encoding.UTF8.GetBytes(text));

    private static void WriteByteLevel(Utf8JsonWriter writer, string? propertyName)
    {
        if (propertyName is null)
        {
            writer.WriteStartObject();
        }
        else
        {
            writer.WriteStartObject(propertyName);
        }

        writer.WriteString("type", "ByteLevel");
        writer.WriteBoolean("add_prefix_space", false);
        writer.WriteBoolean("trim_offsets", false);
        writer.WriteBoolean("use_regex", false);
        writer.WriteEndObject();
    }

    private static string Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var options = new JsonWriterOptions
        {
            Indented = true,
            IndentSize = 2,
            NewLine = "\n",
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        using (var writer = new Utf8JsonWriter(buffer, options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }
}
