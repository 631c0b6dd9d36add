using TinkerFlow.Local.Tests.Backend;

namespace TinkerFlow.Server.Tests;

/// <summary>The backend-independent client suite, over HTTP against an in-process server.</summary>
[Collection("Torch")]
public sealed class HttpClientSuiteTests : ClientSuite
{
    private readonly TempHome _home = new();
    private ServerHost? _host;
    private TinkerBackend? _backend;

    protected override bool ThroughServer => true;

    protected override async Task<TinkerBackend> CreateBackendAsync()
    {
        _host = await ServerHost.StartAsync(_home.Path, o => o.LongPollTimeout = TimeSpan.FromSeconds(5));
        var engine = _host.State.Engine;
        var options = new TinkerClientOptions
        {
            BaseUrl = _host.BaseUrl,
            ApiKey = ServerHost.Alice,

            // Tinker services have no tokenizer endpoint; the test borrows the server engine's tokenizer.
            TokenizerResolver = name => engine.GetTokenizerAsync(name).GetAwaiter().GetResult(),
        };

        // The SDK retries 409 (e.g. "already public") for up to 5 minutes; a short budget keeps the suite quick.
        options.Retry.TotalTimeout = TimeSpan.FromSeconds(3);
        options.Retry.Delay = TimeSpan.FromMilliseconds(50);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(200);
        _backend = new ServiceClient(options).Backend;
        return _backend;
    }

    protected override async Task DisposeBackendAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _home.Dispose();
    }
}
