using Microsoft.AspNetCore.Http;

namespace TinkerFlow.Server.Protobuf;

/// <summary>A protobuf answer (<c>application/x-protobuf</c>).</summary>
internal sealed class ProtobufBytesResult(byte[] body) : IResult
{
    public byte[] Body => body;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCodes.Status200OK;
        httpContext.Response.ContentType = ProtoResultWriter.ContentType;
        httpContext.Response.ContentLength = body.Length;
        return httpContext.Response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask();
    }
}
