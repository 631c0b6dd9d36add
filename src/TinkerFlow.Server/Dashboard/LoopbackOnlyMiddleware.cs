using System.Net;
using Microsoft.AspNetCore.Http;
using TinkerFlow.Server.Http;

namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// The stand-alone dashboard has no API keys, so it answers only requests from this machine (403 JSON otherwise),
/// even when <c>--urls</c> binds a public address.
/// </summary>
internal sealed class LoopbackOnlyMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (remote is null || IPAddress.IsLoopback(remote) || remote.Equals(context.Connection.LocalIpAddress))
        {
            return next(context);
        }

        throw new ApiError(
            StatusCodes.Status403Forbidden,
            $"This dashboard serves only this machine (the request came from {remote}); it has no API keys. Use an SSH tunnel, or serve runs through 'tinkerflow serve'.");
    }
}
