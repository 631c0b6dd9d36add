using TinkerFlow.Http;
using TinkerFlow.Tests.Types;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Http;

/// <summary>An <see cref="HttpBackend"/> over a <see cref="ScriptedHandler"/>, on fake time, with captured logs.</summary>
internal sealed class HttpTestContext : IAsyncDisposable
{
    public const string ApiKey = "tml-test-key";

    public HttpTestContext(Action<TinkerClientOptions>? configure = null, string baseUrl = "http://tinker.test")
    {
        Options = new TinkerClientOptions { ApiKey = ApiKey, TimeProvider = Time, LoggerFactory = Logs };
        Options.Retry.JitterFactor = 0;
        configure?.Invoke(Options);
        Backend = new HttpBackend(new Uri(baseUrl), Options, Handler);
    }

    public ScriptedHandler Handler { get; } = new();

    public RecordingTimeProvider Time { get; } = new();

    public ListLoggerFactory Logs { get; } = new();

    public TinkerClientOptions Options { get; }

    public HttpBackend Backend { get; }

    public static ForwardBackwardRequest ForwardBackwardRequest() =>
        TinkerJson.Deserialize<ForwardBackwardRequest>(GoldenRoundTripTests.ReadGolden("forward_backward_request.json"));

    public static string Golden(string name) => GoldenRoundTripTests.ReadGolden(name);

    public ValueTask DisposeAsync() => Backend.DisposeAsync();
}
