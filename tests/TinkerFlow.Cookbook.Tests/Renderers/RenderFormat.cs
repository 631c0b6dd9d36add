using System.Text;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Renderers;

/// <summary>Shared renderers, conversations and a readable dump format for the approval tests.</summary>
internal static class RenderFormat
{
    public static readonly string[] RendererNames = ["qwen3", "qwen3_disable_thinking", "llama3", "role_colon"];

    public static Renderer Create(string name) => name switch
    {
        "qwen3" => new Qwen3Renderer(FakeTokenizer.Qwen3()),
        "qwen3_disable_thinking" => new Qwen3Renderer(FakeTokenizer.Qwen3(), disableThinking: true),
        "llama3" => new Llama3Renderer(FakeTokenizer.Llama3()),
        "role_colon" => new RoleColonRenderer(FakeTokenizer.Plain()),
        _ => throw new ArgumentException(name),
    };

    /// <summary>System, two user turns, and a final turn of two assistant messages (so LastAssistantTurn differs from LastAssistantMessage).</summary>
    public static IReadOnlyList<Message> Conversation { get; } =
    [
        Message.System("You are a calculator."),
        Message.User("What is 2+3?"),
        Message.Assistant("<think>2 plus 3 is 5.</think>\n5"),
        Message.User("And 4*5?"),
        Message.Assistant("<think>4 times 5.</think>\n20"),
        Message.Assistant("Anything else?"),
    ];

    public static IReadOnlyList<Message> CustomizedConversation { get; } =
        [.. Conversation.Select((m, i) => m with { Trainable = i is 2 or 3 })];

    /// <summary>One line per run of equal weight: the weight, then the decoded text with newlines shown as \n.</summary>
    public static string Dump(Renderer renderer, ModelInput input, float[]? weights)
    {
        var tokens = input.ToInts();
        var text = new StringBuilder();
        text.Append("renderer: ").Append(renderer.Name).Append('\n');
        text.Append("tokens: ").Append(tokens.Length).Append('\n');
        var start = 0;
        for (var i = 1; i <= tokens.Length; i++)
        {
            var boundary = i == tokens.Length || (weights is not null && weights[i] != weights[start]);
            if (!boundary)
            {
                continue;
            }

            var run = renderer.Tokenizer.Decode(tokens[start..i]).Replace("\n", "\\n", StringComparison.Ordinal);
            text.Append(weights is null ? "  " : $"{weights[start]:0} ").Append("| ").Append(run).Append('\n');
            start = i;
        }

        return text.ToString();
    }
}
