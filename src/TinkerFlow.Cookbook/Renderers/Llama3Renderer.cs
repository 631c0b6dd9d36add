using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Renderers;

/// <summary>
/// The Llama 3 template: <c>&lt;|begin_of_text|&gt;</c>, then per message
/// <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ncontent&lt;|eot_id|&gt;</c> (the cookbook's
/// <c>llama3</c> renderer, without the default system prompt Hugging Face inserts).
/// </summary>
/// <remarks>Needs <c>&lt;|begin_of_text|&gt;</c>, <c>&lt;|start_header_id|&gt;</c>, <c>&lt;|end_header_id|&gt;</c> and
/// <c>&lt;|eot_id|&gt;</c>; stops on <c>&lt;|eot_id|&gt;</c>.</remarks>
public sealed class Llama3Renderer : Renderer
{
    private readonly int _beginOfText;
    private readonly int _startHeader;
    private readonly int _endHeader;
    private readonly int _eot;

    /// <summary>Creates the renderer.</summary>
    /// <param name="tokenizer">A tokenizer with the Llama 3 special tokens.</param>
    /// <exception cref="ArgumentException">A needed special token is missing.</exception>
    public Llama3Renderer(TinkerTokenizer tokenizer)
        : base(tokenizer, "llama3")
    {
        _beginOfText = RequireSpecialToken("<|begin_of_text|>");
        _startHeader = RequireSpecialToken("<|start_header_id|>");
        _endHeader = RequireSpecialToken("<|end_header_id|>");
        _eot = RequireSpecialToken("<|eot_id|>");
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<int> BosTokens => [_beginOfText];

    /// <inheritdoc/>
    public override RenderedMessage RenderMessage(Message message, RenderContext context)
    {
        ArgumentNullException.ThrowIfNull(message);
        var header = new List<int> { _startHeader };
        header.AddRange(EncodeText(message.Role));
        header.Add(_endHeader);
        header.AddRange(EncodeText("\n\n"));
        var output = new List<int>(EncodeText(message.Content)) { _eot };
        return new RenderedMessage(header, output, []);
    }

    /// <inheritdoc/>
    public override (Message Message, bool ParsedOk) ParseResponse(IReadOnlyList<int> tokens) => ParseUntilStopToken(tokens, _eot);

    /// <inheritdoc/>
    public override StopCondition GetStopSequences() => StopCondition.FromTokenIds([_eot]);
}
