namespace TinkerFlow.Cookbook.Renderers;

/// <summary>
/// Which tokens of a rendered conversation get loss weight 1 in <see cref="Renderer.BuildSupervisedExample"/>
/// (the cookbook's <c>TrainOnWhat</c>). Message headers (role markers) get weight 1 only under <see cref="AllTokens"/>.
/// </summary>
/// <remarks>
/// The defaults differ by entry point, as in the cookbook: <see cref="Renderer.BuildSupervisedExample"/> defaults to
/// <see cref="LastAssistantMessage"/>, <c>DatumBuilder.ConversationToDatum</c> to <see cref="AllAssistantMessages"/>.
/// </remarks>
public enum TrainOnWhat
{
    /// <summary>Only the last message, and only when it is an assistant message.</summary>
    LastAssistantMessage,

    /// <summary>Every assistant message after the last user message (the final turn, which may span several messages).</summary>
    LastAssistantTurn,

    /// <summary>Every assistant message.</summary>
    AllAssistantMessages,

    /// <summary>The content of every message (headers excluded).</summary>
    AllMessages,

    /// <summary>Every token, headers included (the BOS token excepted; it is never a target).</summary>
    AllTokens,

    /// <summary>Every user and system message (e.g. to train a user simulator).</summary>
    AllUserAndSystemMessages,

    /// <summary>Per message, from <see cref="Message.Trainable"/>, which must then be set on every message.</summary>
    Customized,
}
