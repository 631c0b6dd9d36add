using Microsoft.AspNetCore.Http;
using TinkerFlow.Server.Dashboard;
using TinkerFlow.Server.Endpoints;
using TinkerFlow.Server.Http;

namespace TinkerFlow.Server.Auth;

/// <summary>
/// Requires a valid <c>X-API-Key</c> on every request except <c>healthz</c>, signed archive downloads and the dashboard's
/// page, files and token-checked event stream (<see cref="DashboardRoutes.IsAnonymous"/>), and records
/// the key's user for the handlers (401 with a JSON body otherwise).
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, ServerState state)
{
    public const string HeaderName = "X-API-Key";

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (path.Equals(ApiEndpoints.Prefix + "/healthz", StringComparison.OrdinalIgnoreCase)
            || path.StartsWith(ApiEndpoints.ArchiveDownloadPrefix, StringComparison.OrdinalIgnoreCase)
            || DashboardRoutes.IsAnonymous(context.Request.Method, path))
        {
            return next(context);
        }

        var key = context.Request.Headers[HeaderName].ToString();
        if (key.Length == 0)
        {
            throw new ApiError(StatusCodes.Status401Unauthorized, $"Missing API key: send it in the {HeaderName} header (TINKER_API_KEY on the client).");
        }

        var user = state.Keys.FindUser(key)
            ?? throw new ApiError(
                StatusCodes.Status401Unauthorized,
                key.StartsWith(ApiKeyRegistry.KeyPrefix, StringComparison.Ordinal)
                    ? "Invalid API key: this server does not know it (keys come from TINKERFLOW_API_KEYS or the server's generated key)."
                    : $"Invalid API key: keys start with '{ApiKeyRegistry.KeyPrefix}'.");
        context.Items[ServerState.UserItem] = user;
        return next(context);
    }
}
