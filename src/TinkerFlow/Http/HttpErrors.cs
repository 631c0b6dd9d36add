using System.Text.Json;
using TinkerFlow.Types;

namespace TinkerFlow.Http;

/// <summary>Turns unsuccessful HTTP answers into <see cref="TinkerRequestException"/>s whose message says what to do.</summary>
internal static class HttpErrors
{
    private const int MaxBodyInMessage = 500;

    /// <summary>True for statuses the retry layers retry: 408, 409, 429 and 5xx.</summary>
    /// <param name="status">The HTTP status.</param>
    public static bool IsRetryableStatus(int status) => status is 408 or 409 or 429 or >= 500;

    /// <summary>Builds the exception for an unsuccessful answer.</summary>
    /// <param name="reply">The answer.</param>
    /// <param name="call">The request.</param>
    /// <param name="baseUrl">The backend's base URL, for messages.</param>
    public static TinkerRequestException FromReply(HttpReply reply, HttpCall call, string baseUrl)
    {
        var body = reply.BodyText;
        var serverMessage = ServerMessage(body);
        var requestId = call.RequestId ?? reply.Header("x-request-id");
        var category = reply.Status is >= 400 and < 500 ? RequestErrorCategory.User
            : reply.Status >= 500 ? RequestErrorCategory.Server
            : RequestErrorCategory.Unknown;
        var what = $"{call.Operation} failed: {call.Display} on {baseUrl} answered HTTP {reply.Status}";
        var said = string.IsNullOrWhiteSpace(serverMessage) ? "" : $": {serverMessage}";
        var message = $"{what}{said}. {Advice(reply.Status, call)}";
        if (IsRetryableStatus(reply.Status) && call.LowLevelRetries)
        {
            message += $" Gave up after {reply.Attempts} attempt(s); retries are configured by TinkerClientOptions.Retry.";
        }

        return new TinkerRequestException(message, category, reply.Status, requestId, body);
    }

    /// <summary>Extracts the human-readable message from an error body: <c>{"error"}</c>, <c>{"detail"}</c>,
    /// <c>{"message"}</c>, else the (truncated) raw text.</summary>
    /// <param name="body">The response body.</param>
    public static string ServerMessage(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return "";
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var key in new[] { "error", "detail", "message" })
                {
                    if (doc.RootElement.TryGetProperty(key, out var value) && Describe(value) is { Length: > 0 } text)
                    {
                        return text;
                    }
                }
            }
        }
        catch (JsonException)
        {
        }

        var trimmed = body.Trim();
        return trimmed.Length <= MaxBodyInMessage ? trimmed : trimmed[..MaxBodyInMessage] + "…";
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.Object when value.TryGetProperty("message", out var inner) && inner.ValueKind == JsonValueKind.String => inner.GetString() ?? "",
        JsonValueKind.Null or JsonValueKind.Undefined => "",
        _ => value.GetRawText(),
    };

    private static string Advice(int status, HttpCall call) => status switch
    {
        400 or 422 => "The server rejected the request as invalid; fix the arguments of the call.",
        401 => "The API key was rejected; check TinkerClientOptions.ApiKey (or the TINKER_API_KEY environment variable).",
        402 => "The account cannot be billed; check the account's billing status.",
        403 => "The API key may not do this; check that the resource belongs to you (or is published).",
        404 => $"Nothing exists at {call.Display}; check the ids (and that the server is a Tinker service).",
        405 => "The server does not support this operation; it may not be a (recent) Tinker service.",
        408 => "The server timed out; try again later.",
        409 => "The request conflicts with the current state (e.g. the name exists or the change was already made).",
        410 => "The result expired before it was fetched; submit the request again.",
        413 => "The request is too large; send fewer or shorter datums per call.",
        429 => "The server is rate limiting this client; slow down or try again later.",
        >= 500 => "The server failed; try again later, and report it if it persists.",
        _ => "See the server's message.",
    };
}
