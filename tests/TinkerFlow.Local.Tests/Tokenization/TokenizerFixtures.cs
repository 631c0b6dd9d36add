using System.Text.Json;
using TinkerFlow.Tokenization;

namespace TinkerFlow.Local.Tests.Tokenization;

/// <summary>
/// The built-in tokenizer's reference ids (from the Hugging Face library). The real Qwen3 and Llama 3 fixtures are in
/// tests/TinkerFlow.Tests/Fixtures/tokenizers, with the generator script.
/// </summary>
internal static class TokenizerFixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizers");

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
