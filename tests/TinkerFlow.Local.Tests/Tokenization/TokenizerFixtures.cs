using System.Text.Json;
using TinkerFlow.Local.Tokenization;

namespace TinkerFlow.Local.Tests.Tokenization;

/// <summary>Paths of the tokenizer fixtures and their reference ids (from the Hugging Face library).</summary>
internal static class TokenizerFixtures
{
    private static readonly Lazy<HfTokenizer> s_qwen3 = new(() => HfTokenizer.Load(Qwen3Directory));

    public static string Root => Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizers");

    public static string Qwen3Directory => Path.Combine(Root, "qwen3");

    /// <summary>Qwen3's real tokenizer (151,669 ids), loaded once from the gzipped fixture.</summary>
    public static HfTokenizer Qwen3 => s_qwen3.Value;

    /// <summary>The cases of <c>Fixtures/tokenizers/&lt;folder&gt;/reference-ids.json</c>.</summary>
    public static IReadOnlyList<(string Text, int[] Ids)> ReadReference(string folder)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, folder, "reference-ids.json")));
        var cases = new List<(string, int[])>();
        foreach (JsonElement item in document.RootElement.GetProperty("cases").EnumerateArray())
        {
            cases.Add((item.GetProperty("text").GetString()!, [.. item.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())]));
        }

        return cases;
    }

    /// <summary>A readable form of a string for assertion messages.</summary>
    public static string Show(string text) => JsonSerializer.Serialize(text);
}
