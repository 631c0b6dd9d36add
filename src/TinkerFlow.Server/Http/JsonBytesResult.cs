using Microsoft.AspNetCore.Http;

namespace TinkerFlow.Server.Http;

/// <summary>A response whose body is already-serialised JSON, always sent as <c>application/json</c>.</summary>
internal sealed class JsonBytesResult(byte[] body, int statusCode = StatusCodes.Status200OK) : IResult
{
    public int StatusCode => statusCode;

    public byte[] Body => body;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = statusCode;
        httpContext.Response.ContentType = "application/json";
        httpContext.Response.ContentLength = body.Length;
        return httpContext.Response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask();
    }
}
