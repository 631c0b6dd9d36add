using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using TinkerFlow.Server.Http;

namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// The page's files, embedded in the assembly (<c>Dashboard/Assets/*</c>, resource names
/// <c>TinkerFlow.Server.Dashboard.Assets.&lt;file&gt;</c>): nothing is fetched from a CDN.
/// </summary>
internal static class DashboardAssets
{
    private const string ResourcePrefix = "TinkerFlow.Server.Dashboard.Assets.";

    private static readonly Lazy<IReadOnlyDictionary<string, Asset>> s_assets = new(Load);

    /// <summary>The embedded file names, e.g. <c>index.html</c>, <c>dashboard.js</c>.</summary>
    public static IEnumerable<string> Names => s_assets.Value.Keys;

    /// <summary>Answers with a file (304 when the browser's copy is current), or 404.</summary>
    public static IResult Serve(HttpContext context, string name)
    {
        if (!s_assets.Value.TryGetValue(name, out var asset))
        {
            return ApiResults.Error(StatusCodes.Status404NotFound, $"No dashboard file '{name}' (the page's files are {string.Join(", ", Names)}).");
        }

        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers.ETag = asset.ETag;
        context.Response.Headers.XContentTypeOptions = "nosniff";
        if (context.Request.Headers.IfNoneMatch.ToString() == asset.ETag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Bytes, asset.ContentType);
    }

    private static Dictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var name = resource[ResourcePrefix.Length..];
            assets[name] = new Asset(bytes, ContentType(name), $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"");
        }

        return assets;
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
