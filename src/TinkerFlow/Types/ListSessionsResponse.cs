namespace TinkerFlow.Types;

/// <summary>Result of <c>GET /api/v1/sessions</c>: <c>{"sessions":[str]}</c>.</summary>
public sealed record ListSessionsResponse
{
    /// <summary>Session ids (<c>sessions</c>).</summary>
    public required IReadOnlyList<string> Sessions { get; init; }
}
