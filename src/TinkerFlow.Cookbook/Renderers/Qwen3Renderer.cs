using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Renderers;

/// <summary>
/// The Qwen3 / ChatML template: <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;</c>, messages joined by
/// <c>\n</c> (the cookbook's <c>qwen3</c> and <c>qwen3_disable_thinking</c> renderers).
/// </summary>
/// <remarks>
/// <para>
/// The newline after <c>&lt;|im_end|&gt;</c> belongs to the next message's header, so an assistant output ends at
/// <c>&lt;|im_end|&gt;</c>, which is also the stop token. Needs the special tokens <c>&lt;|im_start|&gt;</c> and
/// <c>&lt;|im_end|&gt;</c>; with thinking disabled also <c>&lt;think&gt;</c> and <c>&lt;/think&gt;</c>.
/// </para>
/// <para>
/// Thinking, kept simple: as in Qwen3's template, assistant messages before the last user message lose their
/// <c>&lt;think&gt;…&lt;/think&gt;</c> block (which breaks the extension property for multi-turn data; pass
/// <c>stripThinkingFromHistory: false</c> to keep it). With <c>disableThinking</c>, the assistant header of the
/// current turn carries an empty <c>&lt;think&gt;\n\n&lt;/think&gt;\n\n</c> block, so it is part of the generation
/// prompt and has weight 0 in supervised examples.
/// </para>
/// </remarks>
public sealed class Qwen3Renderer : Renderer
{
    private const string EmptyThinking = "<think>\n\n</think>\n\n";
    private readonly int _imStart;
    private readonly int _imEnd;
    private readonly bool _stripThinkingFromHistory;
    private readonly bool _disableThinking;

    /// <summary>Creates the renderer.</summary>
    /// <param name="tokenizer">A tokenizer with <c>&lt;|im_start|&gt;</c> and <c>&lt;|im_end|&gt;</c>.</param>
    /// <param name="stripThinkingFromHistory">Remove thinking from assistant messages before the last user message.</param>
    /// <param name="disableThinking">Prefill an empty thinking block in the current assistant turn (<c>qwen3_disable_thinking</c>).</param>
    /// <exception cref="ArgumentException">A needed special token is missing.</exception>
    public Qwen3Renderer(TinkerTokenizer tokenizer, bool stripThinkingFromHistory = true, bool disableThinking = false)
        : base(tokenizer, disableThinking ? "qwen3_disable_thinking" : "qwen3")
    {
        _imStart = RequireSpecialToken("<|im_start|>");
        _imEnd = RequireSpecialToken("<|im_end|>");
        if (disableThinking)
        {
            RequireSpecialToken("<think>");
            RequireSpecialToken("</think>");
        }

        _stripThinkingFromHistory = stripThinkingFromHistory;
        _disableThinking = disableThinking;
    }

    /// <inheritdoc/>
    public override RenderedMessage RenderMessage(Message message, RenderContext context)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(context);
        var header = new List<int>();
        if (context.Index > 0)
        {
            header.AddRange(EncodeText("\n"));
        }

        header.Add(_imStart);
        header.AddRange(EncodeText(message.Role + "\n"));

        var content = message.Content;
        if (message.Role == MessageRoles.Assistant)
        {
            var isHistory = context.Index < context.LastUserIndex;
            if (isHistory && _stripThinkingFromHistory)
            {
                content = StripThinking(content);
            }

            if (!isHistory && _disableThinking && !content.Contains("<think>", StringComparison.Ordinal))
            {
                header.AddRange(EncodeText(EmptyThinking));
            }
        }

        var output = new List<int>(EncodeText(content)) { _imEnd };
        return new RenderedMessage(header, output, []);
    }

    /// <inheritdoc/>
    public override (Message Message, bool ParsedOk) ParseResponse(IReadOnlyList<int> tokens) => ParseUntilStopToken(tokens, _imEnd);

    /// <inheritdoc/>
    public override StopCondition GetStopSequences() => StopCondition.FromTokenIds([_imEnd]);

    private static string StripThinking(string content)
    {
        var close = content.LastIndexOf("</think>", StringComparison.Ordinal);
        return close < 0 ? content : content[(close + "</think>".Length)..].TrimStart('\n');
    }
}
