using System.Text.Json;
using TinkerFlow.Cookbook.Renderers;

namespace TinkerFlow.Cookbook.Tests.Renderers;

/// <summary>
/// The renderers give the same tokens as each model's own <c>chat_template</c> (rendered with a Jinja implementation and
/// tokenized by the Hugging Face library when the fixture was made: Fixtures/chat-templates/make-chat-fixture.js).
/// </summary>
public class ChatTemplateParityTests
{
    private static readonly Lazy<HuggingFaceTokenizer> s_qwen3 = new(() => HuggingFaceTokenizer.Load(FixturePath("tokenizers", "qwen3")));
    private static readonly Lazy<HuggingFaceTokenizer> s_llama3 = new(() => HuggingFaceTokenizer.Load(FixturePath("tokenizers", "llama3")));

    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        var cases = ReadCases();
        for (var i = 0; i < cases.Count; i++)
        {
            data.Add(cases[i].Model, cases[i].Mode, i);
        }

        return data;
    }

    [Fact]
    public void Fixture_CoversBothModelsAndEveryMode()
    {
        var cases = ReadCases();
        Assert.Equal(["llama3/template", "qwen3/conversation", "qwen3/generation", "qwen3/generation_no_thinking"],
            cases.Select(c => $"{c.Model}/{c.Mode}").Distinct().Order(StringComparer.Ordinal));
        Assert.True(cases.Count >= 40);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Renderer_MatchesTheModelsChatTemplate(string model, string mode, int index)
    {
        var c = ReadCases()[index];
        int[] actual = (model, mode) switch
        {
            ("qwen3", "generation") => new Qwen3Renderer(s_qwen3.Value).BuildGenerationPrompt(c.Messages).ToInts().ToArray(),
            ("qwen3", "generation_no_thinking") => new Qwen3Renderer(s_qwen3.Value, disableThinking: true).BuildGenerationPrompt(c.Messages).ToInts().ToArray(),

            // The template ends the last message with "<|im_end|>\n"; the renderer leaves that newline to the next header.
            ("qwen3", "conversation") => [.. new Qwen3Renderer(s_qwen3.Value, disableThinking: true).BuildSupervisedExample(c.Messages).ModelInput.ToInts(), .. s_qwen3.Value.Encode("\n")],

            // This Llama 3 template always ends with the open assistant header: a generation prompt.
            ("llama3", "template") => new Llama3Renderer(s_llama3.Value).BuildGenerationPrompt(c.Messages).ToInts().ToArray(),
            _ => throw new InvalidOperationException($"unknown case {model}/{mode}"),
        };

        TinkerTokenizer tokenizer = model == "qwen3" ? s_qwen3.Value : s_llama3.Value;
        Assert.True(c.Ids.SequenceEqual(actual),
            $"{model}/{mode} #{index}\nexpected: {JsonSerializer.Serialize(c.Text)}\nactual:   {JsonSerializer.Serialize(tokenizer.Decode(actual))}\n"
            + $"expected ids [{string.Join(",", c.Ids)}]\nactual ids   [{string.Join(",", actual)}]");
    }

    private static string FixturePath(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "Fixtures", .. parts]);

    private static List<(string Model, string Mode, Message[] Messages, string Text, int[] Ids)> ReadCases()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(FixturePath("chat-templates", "chat-template-ids.json")));
        return [.. document.RootElement.GetProperty("cases").EnumerateArray().Select(item => (
            item.GetProperty("model").GetString()!,
            item.GetProperty("mode").GetString()!,
            item.GetProperty("messages").EnumerateArray().Select(m => new Message(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToArray(),
            item.GetProperty("text").GetString()!,
            item.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray()))];
    }
}
