using TinkerFlow.Types;

namespace TinkerFlow;

/// <summary>
/// The one exception family of TinkerFlow: a request that the backend rejected or that failed while running.
/// </summary>
/// <remarks>
/// <see cref="Category"/> tells who must act: <see cref="RequestErrorCategory.User"/> means the request itself was
/// wrong (fix the input); <see cref="RequestErrorCategory.Server"/> means the backend failed;
/// <see cref="RequestErrorCategory.Unknown"/> means it could not be told.
/// </remarks>
public class TinkerRequestException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="category">Who must act.</param>
    /// <param name="status">The HTTP status, when there was one.</param>
    /// <param name="requestId">The request id, when known.</param>
    /// <param name="responseBody">The raw response body, when there was one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public TinkerRequestException(
        string message,
        RequestErrorCategory category = RequestErrorCategory.Unknown,
        int? status = null,
        string? requestId = null,
        string? responseBody = null,
        Exception? innerException = null)
        : base(message, innerException)
    {
        Category = category;
        Status = status;
        RequestId = requestId;
        ResponseBody = responseBody;
    }

    /// <summary>Who must act: the user (bad input), the server, or unknown.</summary>
    public RequestErrorCategory Category { get; }

    /// <summary>The HTTP status code, or null for in-process and connection failures.</summary>
    public int? Status { get; }

    /// <summary>The id of the failed request, when known.</summary>
    public string? RequestId { get; }

    /// <summary>The raw response body, when the failure came from a server.</summary>
    public string? ResponseBody { get; }

    /// <summary>True when retrying the same request may succeed (408, 409, 429, 5xx or a connection failure).</summary>
    public bool IsTransient => Status is null ? Category != RequestErrorCategory.User : Status is 408 or 409 or 429 or >= 500;

    /// <summary>Creates a user-category (bad input) error.</summary>
    /// <param name="message">What was wrong and what to do.</param>
    /// <param name="requestId">The request id, when known.</param>
    /// <returns>The exception.</returns>
    public static TinkerRequestException User(string message, string? requestId = null) =>
        new(message, RequestErrorCategory.User, status: 400, requestId: requestId);
}
