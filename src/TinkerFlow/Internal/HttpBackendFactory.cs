using TinkerFlow.Http;

namespace TinkerFlow;

/// <summary>Creates the HTTP backend for a base URL.</summary>
internal static class HttpBackendFactory
{
    public static TinkerBackend Create(Uri baseUrl, TinkerClientOptions options) => new HttpBackend(baseUrl, options);
}
