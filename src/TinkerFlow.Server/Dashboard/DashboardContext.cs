using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using TinkerFlow.Server.Http;

namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// What one mapped dashboard works with: its options, the metrics files it tails, and (when the TinkerFlow server's
/// services are present) the server state for API keys, run ownership and stream tokens.
/// </summary>
internal sealed class DashboardContext
{
    private readonly ConcurrentDictionary<string, string> _owners = new(StringComparer.Ordinal);

    public DashboardContext(DashboardOptions options, ServerState? server, TimeProvider time)
    {
        Options = options;
        Server = server;
        Time = time;
        if (options.LogPath is { } logPath)
        {
            Catalog = MetricsCatalog.ForLogPath(logPath, time, options.PollInterval);
        }
        else
        {
            Catalog = MetricsCatalog.ForServerHome(
                server?.Store.Home ?? throw new InvalidOperationException(
                    "The dashboard needs either DashboardOptions.LogPath (a folder of metrics.jsonl files) or the TinkerFlow server's services (TinkerFlowServer.AddTinkerFlow)."),
                time,
                options.PollInterval);
        }

        Tokens = server is null ? null : new StreamTokenSigner(server.Store.GetOrCreateSecret("dashboard-stream-hmac"), time);
    }

    public DashboardOptions Options { get; }

    /// <summary>The TinkerFlow server, or null for a stand-alone log-path dashboard.</summary>
    public ServerState? Server { get; }

    public TimeProvider Time { get; }

    public MetricsCatalog Catalog { get; }

    /// <summary>Signs event-stream tokens; null when there are no API keys to check.</summary>
    public StreamTokenSigner? Tokens { get; }

    /// <summary>"log_path" (recipe metrics.jsonl files) or "server" (the server's engine metrics per run).</summary>
    public string Mode => Options.LogPath is null ? "server" : "log_path";

    /// <summary>Whether requests need an API key (the server's keys).</summary>
    public bool RequiresKey => Server is not null;

    /// <summary>The caller's user id (null without API keys).</summary>
    public string? User(HttpContext context) => Server is null ? null : ServerState.User(context);

    /// <summary>
    /// Whether <paramref name="user"/> may see a run's metrics: everyone in log-path mode; in server mode only the run's
    /// owner (ownership never changes, so known owners are cached).
    /// </summary>
    public bool IsVisible(string runId, string? user)
    {
        if (Server is null || Options.LogPath is not null)
        {
            return true;
        }

        if (!_owners.TryGetValue(runId, out var owner))
        {
            owner = Server.Store.TryGetRun(runId)?.ModelOwner;
            if (owner is null)
            {
                return false;
            }

            _owners[runId] = owner;
        }

        return owner == user;
    }

    /// <summary>A run the caller may see, after a fresh look at the files; 404 otherwise.</summary>
    public MetricsRun FindRun(HttpContext context, string? runId)
    {
        if (string.IsNullOrEmpty(runId))
        {
            throw ApiError.BadRequest("Pass the run id as ?run=<id> (GET /dashboard/api/runs lists them).");
        }

        Catalog.Refresh(force: true);
        var run = Catalog.Find(runId);
        return run is not null && IsVisible(runId, User(context))
            ? run
            : throw ApiError.NotFound($"No metrics for run '{runId}': it has no metrics.jsonl yet, or it is not yours. GET /dashboard/api/runs lists the runs with metrics.");
    }
}
