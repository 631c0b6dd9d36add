using Microsoft.AspNetCore.Http;

namespace TinkerFlow.Server.Dashboard;

/// <summary>The dashboard's paths, and which of them the API-key check lets through.</summary>
internal static class DashboardRoutes
{
    /// <summary>Static files: <c>/dashboard/assets/{name}</c>.</summary>
    public const string AssetsPrefix = "/dashboard/assets/";

    /// <summary>The dashboard's JSON and event-stream endpoints.</summary>
    public const string ApiPrefix = "/dashboard/api";

    /// <summary><c>{"mode","auth"}</c>: what the page needs before it has a key.</summary>
    public const string Info = ApiPrefix + "/info";

    /// <summary>The server-sent event stream; authenticated by a stream token in the query string (server mode).</summary>
    public const string Events = ApiPrefix + "/events";

    /// <summary>
    /// Whether a request may pass without <c>X-API-Key</c>: the page itself and its scripts (the same for everyone; the
    /// page asks for the key), <see cref="Info"/>, and <see cref="Events"/>, which checks its signed token itself
    /// because <c>EventSource</c> cannot send headers.
    /// </summary>
    public static bool IsAnonymous(string method, string path) =>
        (HttpMethods.IsGet(method) || HttpMethods.IsHead(method))
        && (path is "/" or "/index.html"
            || path.StartsWith(AssetsPrefix, StringComparison.Ordinal)
            || path.Equals(Info, StringComparison.Ordinal)
            || path.Equals(Events, StringComparison.Ordinal));
}
