using Microsoft.AspNetCore.Http;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Http;

/// <summary>JSON answers built with the wire context (<see cref="TinkerJson"/>).</summary>
internal static class ApiResults
{
    public static IResult Ok<T>(T value) => new JsonBytesResult(TinkerJson.SerializeToUtf8Bytes(value));

    /// <summary>An empty JSON object, for endpoints whose body the SDK ignores.</summary>
    public static IResult Empty() => new JsonBytesResult("{}"u8.ToArray());

    public static IResult Error(int status, string message, RequestErrorCategory category = RequestErrorCategory.User) =>
        new JsonBytesResult(ApiError.Body(message, category), status);
}
