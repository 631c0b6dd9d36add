using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Renderers;

/// <summary>
/// A plain-text template for base models without chat tokens: <c>User: …\n\nAssistant: …\n\n</c> (the cookbook's
/// <c>role_colon</c> renderer). Generation stops at the string <c>\n\nUser:</c>.
/// </summary>
/// <remarks>
/// The header is <c>Role:</c> (role capitalised) and the output is <c> content\n\n</c>. Because the stop string
/// runs into the next header, the last message also gets a stop overlap <c>User:</c>, trained like its output, so
/// the model learns to emit the stop. The tokenizer's BOS token, when it has one, starts every sequence.
/// </remarks>
public sealed class RoleColonRenderer : Renderer
{
    private const string StopString = "\n\nUser:";

    /// <summary>Creates the renderer; it needs no special tokens.</summary>
    /// <param name="tokenizer">Any tokenizer.</param>
    public RoleColonRenderer(TinkerTokenizer tokenizer)
        : base(tokenizer, "role_colon")
    {
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<int> BosTokens => Tokenizer.BosTokenId is { } bos ? [bos] : [];

    /// <inheritdoc/>
    public override RenderedMessage RenderMessage(Message message, RenderContext context)
    {
        ArgumentNullException.ThrowIfNull(message);
        var header = EncodeText(Capitalize(message.Role) + ":");
        var output = EncodeText(" " + message.Content + "\n\n");
        var stopOverlap = EncodeText("User:");
        return new RenderedMessage(header, output, stopOverlap);
    }

    /// <inheritdoc/>
    public override (Message Message, bool ParsedOk) ParseResponse(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var text = Tokenizer.Decode(tokens);
        var stop = text.IndexOf(StopString, StringComparison.Ordinal);
        return stop < 0
            ? (Message.Assistant(text.Trim()), false)
            : (Message.Assistant(text[..stop].Trim()), true);
    }

    /// <inheritdoc/>
    public override StopCondition GetStopSequences() => StopCondition.FromStrings([StopString]);

    private static string Capitalize(string role) =>
        role.Length == 0 ? role : char.ToUpperInvariant(role[0]) + role[1..];
}
