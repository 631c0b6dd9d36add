namespace TinkerFlow.Cookbook.Renderers;

/// <summary>Where a message sits in the conversation being rendered (the cookbook's <c>RenderContext</c>).</summary>
/// <param name="Index">Position of the message (for a generation prompt's open header, the number of messages).</param>
/// <param name="IsLast">True for the final message of the conversation.</param>
/// <param name="LastUserIndex">Index of the last <c>user</c> message, or -1 when there is none.</param>
public sealed record RenderContext(int Index, bool IsLast, int LastUserIndex);
