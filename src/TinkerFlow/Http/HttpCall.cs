namespace TinkerFlow.Http;

/// <summary>One logical HTTP request: what to send and how the low-level layer treats it.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">Path and query relative to the base URL, e.g. <c>api/v1/forward_backward</c>.</param>
/// <param name="Operation">Short name used in error messages, e.g. <c>forward_backward</c>.</param>
internal sealed record HttpCall(HttpMethod Method, string Path, string Operation)
{
    /// <summary>UTF-8 JSON body, or null for none.</summary>
    public byte[]? Body { get; init; }

    /// <summary>Per-attempt timeout; null = <see cref="TinkerClientOptions.NetworkTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Extra request headers.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>Whether layer A (low-level retries, <see cref="RetryOptions.MaxRetries"/>) applies.</summary>
    public bool LowLevelRetries { get; init; } = true;

    /// <summary>Send the raw API key even in JWT mode (client/config and the JWT exchange itself).</summary>
    public bool UseRawApiKey { get; init; }

    /// <summary>Treat 3xx answers as results (the archive endpoint answers 302).</summary>
    public bool AcceptRedirect { get; init; }

    /// <summary>The request id, when the call concerns a known future (for error messages).</summary>
    public string? RequestId { get; init; }

    /// <summary>Method and path for messages, e.g. <c>POST /api/v1/forward_backward</c>.</summary>
    public string Display => $"{Method.Method} /{Path}";
}
