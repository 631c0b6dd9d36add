using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TinkerFlow.Server.Auth;
using TinkerFlow.Server.Dashboard;
using TinkerFlow.Server.Diagnostics;
using TinkerFlow.Server.Endpoints;
using TinkerFlow.Server.Http;

namespace TinkerFlow.Server;

/// <summary>
/// Builds the TinkerFlow HTTP server: the Tinker wire API (<c>/api/v1/*</c>, JSON) over the embedded engine, with
/// API keys, SQLite metadata under <see cref="ServerOptions.HomeDirectory"/> and in-memory futures, plus the training
/// dashboard at <c>/</c> (<see cref="TinkerFlowDashboard"/>).
/// </summary>
/// <example>
/// <code>
/// await using var app = TinkerFlowServer.Build(["--urls", "http://127.0.0.1:0"], o => o.ApiKeys = ["tml-test-key-1"]);
/// await app.StartAsync();
/// var baseUrl = app.Urls.First();
/// </code>
/// </example>
public static class TinkerFlowServer
{
    /// <summary>
    /// Creates the web application. Recognised arguments besides the ASP.NET Core ones (<c>--urls</c>, …):
    /// <c>--model &lt;name|dir|name=dir&gt;</c> (repeatable), <c>--home &lt;dir&gt;</c>,
    /// <c>--request-log-level &lt;Trace|Debug|Information|Warning|Error|Critical|None&gt;</c> and the limits listed
    /// by <c>--help</c>.
    /// </summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="configure">Adjusts the options after the arguments and environment were applied.</param>
    /// <returns>The application, ready to run (call <c>RunAsync</c> or <c>StartAsync</c>).</returns>
    /// <exception cref="ArgumentException">An unknown <c>--model</c>, an invalid API key or a malformed argument.</exception>
    public static WebApplication Build(string[] args, Action<ServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new ServerOptions();
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var (name, value) = SplitArgument(args, ref i);
            switch (name)
            {
                case "--model":
                    options.Models.Add(value ?? throw new ArgumentException("--model needs a value: a built-in model name, a Hugging Face folder, or name=folder."));
                    break;
                case "--home":
                    options.HomeDirectory = value ?? throw new ArgumentException("--home needs a folder.");
                    break;
                default:
                    if (ServerArguments.Find(name) is { } setting)
                    {
                        setting.Apply(options, name, value);
                    }
                    else
                    {
                        rest.Add(args[i]);
                    }

                    break;
            }
        }

        configure?.Invoke(options);
        var builder = WebApplication.CreateSlimBuilder(rest.ToArray());
        // ASP.NET Core logs every request at Information; the server keeps them at RequestLogLevel (Warning by default).
        builder.Logging.AddFilter("Microsoft.AspNetCore", options.RequestLogLevel);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        AddTinkerFlow(builder.Services, options);
        var app = builder.Build();
        UseTinkerFlow(app);
        app.MapTinkerFlowApi();
        app.MapTinkerFlowDashboard();
        return app;
    }

    /// <summary>Registers the server's shared state (engine, store, keys, futures) and its clean-up service.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="options">The server settings.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddTinkerFlow(IServiceCollection services, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        var state = new ServerState(options);
        services.AddSingleton(options);
        services.AddSingleton(_ => state);
        services.AddSingleton<ServerSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<ServerSweeper>());
        return services;
    }

    /// <summary>Adds the JSON error handling and API-key check in front of routing.</summary>
    /// <param name="app">The application.</param>
    /// <returns>The same application.</returns>
    public static WebApplication UseTinkerFlow(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<RequestTracingMiddleware>();
        app.UseMiddleware<ErrorMiddleware>();
        app.UseMiddleware<ApiKeyMiddleware>();
        app.UseRouting();
        return app;
    }

    /// <summary>Maps every <c>/api/v1</c> endpoint of the Tinker wire protocol.</summary>
    /// <param name="endpoints">The route builder (needs <see cref="AddTinkerFlow"/>'s services).</param>
    /// <returns>The same route builder.</returns>
    public static IEndpointRouteBuilder MapTinkerFlowApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ApiEndpoints.Map(endpoints);
        return endpoints;
    }

    private static (string Name, string? Value) SplitArgument(string[] args, ref int i)
    {
        var arg = args[i];
        var eq = arg.IndexOf('=', StringComparison.Ordinal);
        if (eq > 0 && arg.StartsWith("--", StringComparison.Ordinal))
        {
            return (arg[..eq], arg[(eq + 1)..]);
        }

        if (ServerArguments.TakesValue(arg))
        {
            return i + 1 < args.Length ? (arg, args[++i]) : (arg, null);
        }

        return (arg, null);
    }
}
