using System.Text.Json.Nodes;
using TinkerFlow.Cookbook.Renderers;

namespace TinkerFlow.Recipes.Dpo;

/// <summary>One comparison: a prompt conversation, the preferred answer and the dispreferred one.</summary>
/// <param name="Index">The line number (from 0) in the data file; keys the reference-logprob cache.</param>
/// <param name="Prompt">The conversation before the answer.</param>
/// <param name="Chosen">The preferred assistant answer.</param>
/// <param name="Rejected">The dispreferred assistant answer.</param>
internal sealed record PreferencePair(int Index, IReadOnlyList<Message> Prompt, string Chosen, string Rejected)
{
    /// <summary>Reads <c>{"prompt": [{"role", "content"}, …], "chosen": "…", "rejected": "…"}</c> lines.</summary>
    public static IReadOnlyList<PreferencePair> Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Preference file '{path}' not found; regenerate it with `python3 recipes/data/make_tiny_prefs.py` or pass --data-path.", path);
        }

        return [.. File.ReadLines(path).Where(l => l.Length > 0).Select((line, i) =>
        {
            var row = JsonNode.Parse(line) ?? throw new FormatException($"{path}:{i + 1}: empty JSON.");
            var prompt = row["prompt"]!.AsArray().Select(m => new Message((string)m!["role"]!, (string)m["content"]!)).ToList();
            return new PreferencePair(i, prompt, (string)row["chosen"]!, (string)row["rejected"]!);
        })];
    }
}
