using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace TinkerFlow.Server.Tests.Faults;

/// <summary>
/// An in-process server on a Kestrel loopback port (like <see cref="ServerHost"/>) with one extra middleware: a request
/// carrying <see cref="FaultInjectingHandler.ServerFaultHeader"/><c>: abort</c> is processed in full, its answer thrown
/// away and the TCP connection aborted — a connection that drops after the server did the work.
/// </summary>
internal sealed class FaultHost : IAsyncDisposable
{
    private readonly StrongBox<int> _aborted;

    private FaultHost(WebApplication app, string home, StrongBox<int> aborted)
    {
        App = app;
        _aborted = aborted;
        Home = home;
        BaseUrl = new Uri(app.Urls.First().TrimEnd('/') + "/");
    }

    public WebApplication App { get; }

    public string Home { get; }

    public Uri BaseUrl { get; }

    public ServerState State => App.Services.GetRequiredService<ServerState>();

    /// <summary>How many connections the middleware aborted.</summary>
    public int Aborted => Volatile.Read(ref _aborted.Value);

    public static async Task<FaultHost> StartAsync(string home)
    {
        var app = TinkerFlowServer.Build(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", "--home", home],
            o =>
            {
                o.ApiKeys = [ServerHost.Alice];
                o.PreloadModels = false;
                o.LongPollTimeout = TimeSpan.FromSeconds(10);
            });
        var aborted = new StrongBox<int>();

        // Added after Build: runs after routing and the API-key check, around the endpoint itself.
        app.Use(async (context, next) =>
        {
            if (context.Request.Headers[FaultInjectingHandler.ServerFaultHeader] != "abort")
            {
                await next(context);
                return;
            }

            var original = context.Response.Body;
            using var buffer = new MemoryStream();
            context.Response.Body = buffer;
            try
            {
                await next(context);
            }
            finally
            {
                context.Response.Body = original;
            }

            Interlocked.Increment(ref aborted.Value);
            context.Abort();
        });
        await app.StartAsync();
        return new FaultHost(app, home, aborted);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
