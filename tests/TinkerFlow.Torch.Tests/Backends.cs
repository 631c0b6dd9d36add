using TinkerFlow.Local;
using TinkerFlow.Local.Tests.Backend;
using TinkerFlow.Server;

namespace TinkerFlow.Torch.Tests;

/// <summary>A ServiceClient on one backend, and what it takes to tear it down.</summary>
internal sealed class Backend : IAsyncDisposable
{
    public const string Model = "tinkerflow/tiny-qwen3";
    private const string ApiKey = "tml-torch-tests-key-0001";

    private readonly TempHome _home;
    private readonly IAsyncDisposable? _host;

    private Backend(ServiceClient service, TempHome home, IAsyncDisposable? host)
    {
        Service = service;
        _home = home;
        _host = host;
    }

    public ServiceClient Service { get; }

    /// <summary>The embedded engine (TinkerFlow.Local) in this process.</summary>
    public static Backend Embedded()
    {
        var home = new TempHome();
        var engine = new LocalBackend(new LocalBackendOptions { HomeDirectory = home.Path, ModelDirectories = new Dictionary<string, string>() });
        return new Backend(new ServiceClient(engine), home, null);
    }

    /// <summary>TinkerFlow.Server on a loopback port in this process, reached over HTTP.</summary>
    public static async Task<Backend> HttpAsync()
    {
        var home = new TempHome();
        var app = TinkerFlowServer.Build(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", "--home", home.Path],
            o =>
            {
                o.ApiKeys = [ApiKey];
                o.PreloadModels = false;
                o.LongPollTimeout = TimeSpan.FromSeconds(5);
            });
        await app.StartAsync();
        var service = new ServiceClient(new TinkerClientOptions { BaseUrl = new Uri(app.Urls.First().TrimEnd('/') + "/"), ApiKey = ApiKey });
        return new Backend(service, home, app);
    }

    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _home.Dispose();
    }
}
