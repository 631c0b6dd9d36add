namespace TinkerFlow.Types;

/// <summary>Result of <c>create_session</c>: <c>{"session_id","info_message"?,"warning_message"?,"error_message"?,"type"}</c>.</summary>
public sealed record CreateSessionResponse
{
    /// <summary>The new session (<c>session_id</c>).</summary>
    public required string SessionId { get; init; }

    /// <summary>Message the client logs at information level (<c>info_message</c>).</summary>
    public string? InfoMessage { get; init; }

    /// <summary>Message the client logs at warning level (<c>warning_message</c>).</summary>
    public string? WarningMessage { get; init; }

    /// <summary>Message the client logs at error level (<c>error_message</c>).</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Wire discriminator, always <c>"create_session"</c>.</summary>
    public string Type => "create_session";
}
