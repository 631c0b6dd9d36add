namespace TinkerFlow.Cookbook.Renderers;

/// <summary>
/// One chat message: a role (<c>system</c>, <c>user</c>, <c>assistant</c>, or a tool role) and its text content
/// (the cookbook's <c>Message</c> typed dict, text only).
/// </summary>
/// <param name="Role">The role, e.g. <see cref="MessageRoles.User"/>.</param>
/// <param name="Content">The text. Qwen3 assistant messages may start with a <c>&lt;think&gt;…&lt;/think&gt;</c> block.</param>
public sealed record Message(string Role, string Content)
{
    /// <summary>
    /// Whether this message's output tokens get weight 1 under <see cref="TrainOnWhat.Customized"/>; must be set on
    /// every message for that mode and left null otherwise.
    /// </summary>
    public bool? Trainable { get; init; }

    /// <summary>A <c>system</c> message.</summary>
    /// <param name="content">The text.</param>
    /// <returns>The message.</returns>
    public static Message System(string content) => new(MessageRoles.System, content);

    /// <summary>A <c>user</c> message.</summary>
    /// <param name="content">The text.</param>
    /// <returns>The message.</returns>
    public static Message User(string content) => new(MessageRoles.User, content);

    /// <summary>An <c>assistant</c> message.</summary>
    /// <param name="content">The text.</param>
    /// <returns>The message.</returns>
    public static Message Assistant(string content) => new(MessageRoles.Assistant, content);
}
