using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Http;

/// <summary>
/// Turns every failure into a JSON answer: <see cref="ApiError"/>s, unexpected exceptions (500), and the empty
/// 4xx/5xx answers the framework produces itself (unknown route, wrong method, oversized body).
/// </summary>
internal sealed class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> logger)
{
    /// <summary>Seconds a 429 answer asks the client to wait (the SDK honours 0 &lt; Retry-After ≤ 60).</summary>
    public const int RetryAfterSeconds = 5;

    public async Task InvokeAsync(HttpContext context)
    {
        // The API server registers its options; hosts of the dashboard alone do not, and keep Kestrel's own limit.
        if (context.RequestServices.GetService<ServerOptions>() is { } options && context.Request.ContentLength is { } length && length > options.MaxRequestBodyBytes)
        {
            // Refused from the header alone, before any of the body is read (or the key checked).
            await WriteAsync(
                context,
                StatusCodes.Status413PayloadTooLarge,
                $"The request body ({length} bytes) is larger than this server's limit of {options.MaxRequestBodyBytes} bytes; split the batch into smaller requests (the server's --max-request-body raises it).",
                RequestErrorCategory.User);
            return;
        }

        try
        {
            await next(context);
        }
        catch (ApiError ex) when (!context.Response.HasStarted)
        {
            await WriteAsync(context, ex.Status, ex.Message, ex.Category);
            return;
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            var message = ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? "The request body is larger than this server's limit; split the batch into smaller requests."
                : $"Bad request: {ex.Message}";
            await WriteAsync(context, ex.StatusCode, message, RequestErrorCategory.User);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            logger.LogError(ex, "Unhandled error in {Method} {Path}", context.Request.Method, context.Request.Path);
            await WriteAsync(context, StatusCodes.Status500InternalServerError, $"Internal server error: {ex.Message}", RequestErrorCategory.Server);
            return;
        }

        var response = context.Response;
        if (!response.HasStarted && response.StatusCode >= 400 && response.ContentLength is null or 0 && string.IsNullOrEmpty(response.ContentType))
        {
            var message = response.StatusCode switch
            {
                StatusCodes.Status404NotFound => $"No such endpoint: {context.Request.Method} {context.Request.Path}. The API lives under /api/v1 (see the Tinker wire protocol).",
                StatusCodes.Status405MethodNotAllowed => $"{context.Request.Method} is not allowed on {context.Request.Path}.",
                StatusCodes.Status413PayloadTooLarge => "The request body is larger than this server's limit.",
                StatusCodes.Status415UnsupportedMediaType => "Unsupported content type; send application/json.",
                var code => $"Request failed with HTTP {code}.",
            };
            await WriteAsync(context, response.StatusCode, message, response.StatusCode >= 500 ? RequestErrorCategory.Server : RequestErrorCategory.User);
        }
    }

    private static Task WriteAsync(HttpContext context, int status, string message, RequestErrorCategory category)
    {
        var body = ApiError.Body(message, category);
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status429TooManyRequests)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}
