namespace TinkerFlow.Types;

/// <summary>Result of <c>POST /api/v1/auth/token</c> in JWT mode: <c>{"jwt"}</c>.</summary>
public sealed record AuthTokenResponse
{
    /// <summary>The short-lived JWT to send as <c>X-API-Key</c> (<c>jwt</c>).</summary>
    public required string Jwt { get; init; }
}
