namespace TinkerFlow.Cli;

/// <summary>The exit codes of the <c>tinkerflow</c> command.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked (or the user declined a confirmation).</summary>
    public const int Success = 0;

    /// <summary>The command line or its input was wrong (bad option, malformed or unknown tinker path, bad TTL, someone
    /// else's checkpoint, unreachable server); stderr says what was wrong and what to do.</summary>
    public const int UserError = 1;

    /// <summary>Something failed that the user could not have prevented (an engine or server fault, a bug).</summary>
    public const int UnexpectedError = 2;

    /// <summary>Interrupted with Ctrl+C.</summary>
    public const int Interrupted = 130;
}
