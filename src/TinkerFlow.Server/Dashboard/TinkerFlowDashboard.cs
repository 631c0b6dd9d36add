using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TinkerFlow.Server.Http;

namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// The live training dashboard: a web page at <c>/</c> listing runs and their checkpoints and drawing metric curves
/// (loss, NLL, reward, KL, throughput, in-flight work) that grow as <c>metrics.jsonl</c> lines arrive over server-sent
/// events. Everything it needs is embedded in this assembly (no CDN).
/// </summary>
/// <remarks>
/// <para>
/// <b>Server mode</b> (inside <see cref="TinkerFlowServer.Build"/>): the page asks for an API key once, keeps it in
/// <c>sessionStorage</c> and sends it as <c>X-API-Key</c>; it shows the caller's runs, their engine metrics (recorded by
/// the server per optim_step in <c>&lt;home&gt;/runs/&lt;run&gt;/metrics.jsonl</c>) and manages checkpoints through the
/// wire REST endpoints (publish, unpublish, TTL, delete, download). <c>EventSource</c> cannot send headers, so the
/// event stream takes a signed token that expires after <see cref="DashboardOptions.StreamTokenLifetime"/> instead of
/// the key: <c>POST /dashboard/api/stream-token</c> (with the key) → <c>GET /dashboard/api/events?token=…</c>.
/// </para>
/// <para>
/// <b>Log-path mode</b> (<see cref="DashboardOptions.LogPath"/>, <c>tinkerflow dashboard --log-path DIR</c>): recipe
/// <c>metrics.jsonl</c> files under a folder, without keys, answering only this machine.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// await using var app = TinkerFlowDashboard.BuildStandalone("runs", ["--urls", "http://127.0.0.1:8080"]);
/// await app.RunAsync();
/// </code>
/// </example>
public static class TinkerFlowDashboard
{
    /// <summary>
    /// Maps the page (<c>/</c>, <c>/dashboard/assets/*</c>) and its API (<c>/dashboard/api/*</c>). Without
    /// <see cref="DashboardOptions.LogPath"/> it needs <see cref="TinkerFlowServer.AddTinkerFlow"/>'s services, and the
    /// API-key middleware of <see cref="TinkerFlowServer.UseTinkerFlow"/> in front.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="options">Settings; null: server mode with the defaults.</param>
    /// <returns>The same route builder.</returns>
    /// <exception cref="InvalidOperationException">Server mode without the TinkerFlow server's services.</exception>
    public static IEndpointRouteBuilder MapTinkerFlowDashboard(this IEndpointRouteBuilder endpoints, DashboardOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        options ??= new DashboardOptions();
        var server = endpoints.ServiceProvider.GetService<ServerState>();
        var time = server?.Options.TimeProvider ?? TimeProvider.System;
        DashboardEndpoints.Map(endpoints, new DashboardContext(options, server, time));
        return endpoints;
    }

    /// <summary>
    /// Creates a stand-alone dashboard over recipe logs (what <c>tinkerflow dashboard</c> runs): no API keys, requests
    /// from other machines refused while <see cref="DashboardOptions.LoopbackOnly"/> holds.
    /// </summary>
    /// <param name="logPath">A recipe's <c>log_path</c> (holding <c>metrics.jsonl</c>), or a folder of them.</param>
    /// <param name="args">ASP.NET Core arguments, e.g. <c>--urls http://127.0.0.1:8080</c>.</param>
    /// <param name="configure">Adjusts the options (the log path is already set).</param>
    /// <returns>The application, ready to start.</returns>
    /// <exception cref="ArgumentException"><paramref name="logPath"/> is neither a folder nor a file.</exception>
    public static WebApplication BuildStandalone(string logPath, string[] args, Action<DashboardOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logPath);
        ArgumentNullException.ThrowIfNull(args);
        if (!Directory.Exists(logPath) && !File.Exists(logPath))
        {
            throw new ArgumentException(
                $"Log path '{Path.GetFullPath(logPath)}' does not exist: pass a recipe's log_path (the folder holding metrics.jsonl) or a folder of them, e.g. runs.");
        }

        var options = new DashboardOptions { LogPath = logPath };
        configure?.Invoke(options);
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        var app = builder.Build();
        app.UseMiddleware<ErrorMiddleware>();
        if (options.LoopbackOnly)
        {
            app.UseMiddleware<LoopbackOnlyMiddleware>();
        }

        app.UseRouting();
        app.MapTinkerFlowDashboard(options);
        return app;
    }
}
