using System.Text.Json;
using System.Text.Json.Nodes;

namespace TinkerFlow.Tests.Tokenization;

/// <summary>The real Qwen3 and Llama 3 tokenizer files (gzipped) and their reference ids from the Hugging Face library.</summary>
internal static class TokenizerFixtures
{
    private static readonly Lazy<HuggingFaceTokenizer> s_qwen3 = new(() => HuggingFaceTokenizer.Load(Qwen3Directory, "Qwen/Qwen3-8B"));
    private static readonly Lazy<HuggingFaceTokenizer> s_llama3 = new(() => HuggingFaceTokenizer.Load(Llama3Directory, "meta-llama/Meta-Llama-3-8B"));

    public static string Root => Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizers");

    public static string Qwen3Directory => Path.Combine(Root, "qwen3");

    public static string Llama3Directory => Path.Combine(Root, "llama3");

    /// <summary>Qwen3's real tokenizer (151,669 ids), loaded once.</summary>
    public static HuggingFaceTokenizer Qwen3 => s_qwen3.Value;

    /// <summary>Llama 3's real tokenizer (128,256 ids), loaded once.</summary>
    public static HuggingFaceTokenizer Llama3 => s_llama3.Value;

    /// <summary>The cases of <c>Fixtures/tokenizers/&lt;folder&gt;/reference-ids.json</c> (<paramref name="list"/>: "cases" or "with_special_tokens").</summary>
    public static IReadOnlyList<(string Text, int[] Ids)> ReadReference(string folder, string list = "cases")
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, folder, "reference-ids.json")));
        var cases = new List<(string, int[])>();
        foreach (JsonElement item in document.RootElement.GetProperty(list).EnumerateArray())
        {
            cases.Add((item.GetProperty("text").GetString()!, [.. item.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())]));
        }

        return cases;
    }

    /// <summary>
    /// Writes Llama 3's tokenizer.json with the post_processor of its reference file (Meta's current one, with
    /// TemplateProcessing) into <paramref name="directory"/>, with the tokenizer_config.json beside it.
    /// </summary>
    public static void WriteLlama3WithTemplate(string directory)
    {
        using var gzip = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(Llama3Directory, "tokenizer.json.gz")), System.IO.Compression.CompressionMode.Decompress);
        JsonNode json = JsonNode.Parse(gzip)!;
        JsonNode reference = JsonNode.Parse(File.ReadAllText(Path.Combine(Llama3Directory, "reference-ids.json")))!;
        json["post_processor"] = reference["post_processor"]!.DeepClone();
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), json.ToJsonString());
        File.Copy(Path.Combine(Llama3Directory, "tokenizer_config.json"), Path.Combine(directory, "tokenizer_config.json"), overwrite: true);
    }

    /// <summary>Compares every case and lists the failures (empty when all match).</summary>
    public static List<string> Mismatches(IEnumerable<(string Text, int[] Ids)> cases, Func<string, IReadOnlyList<int>> encode)
    {
        var failures = new List<string>();
        foreach ((string text, int[] expected) in cases)
        {
            IReadOnlyList<int> actual = encode(text);
            if (!actual.SequenceEqual(expected))
            {
                failures.Add($"{Show(text)}: expected [{string.Join(",", expected)}], got [{string.Join(",", actual)}]");
            }
        }

        return failures;
    }

    /// <summary>A readable form of a string for assertion messages.</summary>
    public static string Show(string text) => JsonSerializer.Serialize(text);
}
