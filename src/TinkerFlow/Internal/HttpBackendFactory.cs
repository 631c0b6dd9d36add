namespace TinkerFlow;

/// <summary>Creates the HTTP backend for a base URL.</summary>
internal static class HttpBackendFactory
{
    public static TinkerBackend Create(Uri baseUrl, TinkerClientOptions options)
    {
        _ = options;
        throw new InvalidOperationException(
            $"BaseUrl/TINKER_BASE_URL is set to '{baseUrl}', but this build of TinkerFlow has no HTTP backend yet (tracked in issue #4). " +
            "Unset TINKER_BASE_URL to train with the embedded engine, or pass TinkerClientOptions.Backend explicitly.");
    }
}
