namespace TinkerFlow.Cookbook.Renderers;

/// <summary>The role names the renderers treat specially.</summary>
public static class MessageRoles
{
    /// <summary><c>system</c>: instructions; trained only under <see cref="TrainOnWhat.AllMessages"/>, <see cref="TrainOnWhat.AllTokens"/> and <see cref="TrainOnWhat.AllUserAndSystemMessages"/>.</summary>
    public const string System = "system";

    /// <summary><c>user</c>: the human turn; a user message starts a new turn for <see cref="TrainOnWhat.LastAssistantTurn"/>.</summary>
    public const string User = "user";

    /// <summary><c>assistant</c>: the model's turn, the default target of training and generation.</summary>
    public const string Assistant = "assistant";
}
