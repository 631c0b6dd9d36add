using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Http;

/// <summary>
/// Reads and parses JSON request bodies with the wire context. Every way a body can be wrong (too big, empty,
/// protobuf, malformed, wrong types, missing fields, invalid values) becomes an <see cref="ApiError"/> whose
/// message says what was wrong.
/// </summary>
internal static class RequestBody
{
    /// <summary>Reads the raw body, enforcing the size limit (413); protobuf bodies only where the endpoint takes them (415).</summary>
    public static async Task<byte[]> ReadBytesAsync(HttpContext context, long limit, bool allowProtobuf = false)
    {
        var contentType = context.Request.ContentType ?? "";
        if (!allowProtobuf && contentType.Contains("protobuf", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiError(
                StatusCodes.Status415UnsupportedMediaType,
                "This endpoint takes JSON only; send the request as application/json. Protobuf bodies (SDK ≥0.25) are accepted by forward_backward.");
        }

        if (context.Request.ContentLength is { } length && length > limit)
        {
            throw TooLarge(length, limit);
        }

        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            if (buffer.Length > limit)
            {
                throw TooLarge(buffer.Length, limit);
            }

            return buffer.ToArray();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(null, limit);
        }
    }

    /// <summary>Reads and parses the body as <typeparamref name="T"/>.</summary>
    /// <param name="context">The request.</param>
    /// <param name="limit">Largest accepted body in bytes.</param>
    /// <param name="what">The endpoint name for messages, e.g. <c>forward_backward</c>.</param>
    public static async Task<T> ReadAsync<T>(HttpContext context, long limit, string what)
    {
        var bytes = await ReadBytesAsync(context, limit).ConfigureAwait(false);
        return Parse<T>(bytes, what);
    }

    /// <summary>Parses JSON bytes as <typeparamref name="T"/>, mapping every failure to a 400 that names the problem.</summary>
    public static T Parse<T>(byte[] bytes, string what)
    {
        if (bytes.Length == 0 || bytes.All(b => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
        {
            throw ApiError.BadRequest($"The {what} request body is empty; send a JSON object.");
        }

        try
        {
            return TinkerJson.Deserialize<T>(bytes);
        }
        catch (JsonException ex)
        {
            throw ApiError.BadRequest($"Invalid {what} request: {Describe(ex)}");
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or FormatException or OverflowException)
        {
            throw ApiError.BadRequest($"Invalid {what} request: {ex.Message}");
        }
    }

    private static string Describe(JsonException ex)
    {
        // Validation failures wrap the type's ArgumentException, whose message names the wire field.
        if (ex.InnerException is ArgumentException inner)
        {
            return inner.Message;
        }

        var message = ex.Message;
        if (ex.Path is { Length: > 0 } path && !message.Contains(path, StringComparison.Ordinal))
        {
            message += $" (at {path})";
        }

        return message;
    }

    private static ApiError TooLarge(long? length, long limit) =>
        new(
            StatusCodes.Status413PayloadTooLarge,
            $"The request body{(length is { } l ? $" ({l} bytes)" : "")} is larger than this server's limit of {limit} bytes; split the batch into smaller requests.");
}
