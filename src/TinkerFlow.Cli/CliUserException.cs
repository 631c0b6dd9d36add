namespace TinkerFlow.Cli;

/// <summary>A mistake on the command line or in its input: reported as <c>error:</c> plus a <c>hint:</c>, exit code 1.</summary>
internal sealed class CliUserException(string message, string? hint = null) : Exception(message)
{
    /// <summary>What to do about it, or null.</summary>
    public string? Hint { get; } = hint;
}
