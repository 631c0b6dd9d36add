using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TinkerFlow.Server.Http;

namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// The dashboard's routes: the page (<c>/</c>), its files (<c>/dashboard/assets/*</c>) and a small JSON API under
/// <c>/dashboard/api</c>. Runs and checkpoints themselves are managed through the wire REST endpoints
/// (<c>/api/v1/training_runs…</c>) when the dashboard runs inside the TinkerFlow server.
/// </summary>
internal static class DashboardEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints, DashboardContext dashboard)
    {
        endpoints.MapGet("/", (HttpContext c) => DashboardAssets.Serve(c, "index.html"));
        endpoints.MapGet("/index.html", (HttpContext c) => DashboardAssets.Serve(c, "index.html"));
        endpoints.MapGet(DashboardRoutes.AssetsPrefix + "{name}", (HttpContext c, string name) => DashboardAssets.Serve(c, name));

        var api = endpoints.MapGroup(DashboardRoutes.ApiPrefix);
        api.MapGet("/info", () => Info(dashboard));
        api.MapGet("/runs", (HttpContext c) => Runs(c, dashboard));
        api.MapGet("/metrics", (HttpContext c) => Metrics(c, dashboard));
        api.MapGet("/checkpoints", (HttpContext c) => LoggedCheckpoints(c, dashboard));
        api.MapGet("/timeline", (HttpContext c) => Timeline(c, dashboard));
        api.MapPost("/stream-token", (HttpContext c) => StreamToken(c, dashboard));
        api.MapGet("/events", (HttpContext c) => Events(c, dashboard));
    }

    /// <summary><c>{"mode","auth","log_path"?,"poll_ms","manage_checkpoints"}</c>; needs no key.</summary>
    private static IResult Info(DashboardContext dashboard) => DashboardJson.Result(json =>
    {
        json.WriteStartObject();
        json.WriteString("mode", dashboard.Mode);
        json.WriteString("auth", dashboard.RequiresKey ? "api_key" : "none");
        if (dashboard.Options.LogPath is { } logPath)
        {
            json.WriteString("log_path", Path.GetFullPath(logPath));
        }

        json.WriteNumber("poll_ms", (int)dashboard.Options.PollInterval.TotalMilliseconds);
        json.WriteBoolean("manage_checkpoints", dashboard.Server is not null);
        json.WriteEndObject();
    });

    /// <summary><c>{"runs":[{"run_id","records","last_step","updated_at","skipped_lines"}]}</c>: the caller's runs that have metrics.</summary>
    private static IResult Runs(HttpContext context, DashboardContext dashboard)
    {
        var user = dashboard.User(context);
        dashboard.Catalog.Refresh(force: true);
        var runs = dashboard.Catalog.Runs.Where(r => dashboard.IsVisible(r.RunId, user)).ToList();
        return DashboardJson.Result(json =>
        {
            json.WriteStartObject();
            json.WriteStartArray("runs");
            foreach (var run in runs)
            {
                DashboardJson.WriteRun(json, run);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    /// <summary><c>{"run_id","generation","records":[…]}</c>: every record of one run so far.</summary>
    private static IResult Metrics(HttpContext context, DashboardContext dashboard)
    {
        var run = dashboard.FindRun(context, context.Request.Query["run"].ToString());
        var (generation, records) = run.Read(0);
        return DashboardJson.Result(json =>
        {
            json.WriteStartObject();
            json.WriteString("run_id", run.RunId);
            json.WriteNumber("generation", generation);
            DashboardJson.WriteRecords(json, "records", records);
            json.WriteEndObject();
        });
    }

    /// <summary>
    /// <c>{"run_id","now","available","operations":[{"op","seq_id","submitted","started","ended","failed"}]}</c>: the
    /// run's recent forward/forward_backward/optim_step operations and its session's samples, times in Unix
    /// milliseconds (started/ended null while queued/running). Only a server records them (<c>available</c> false on a
    /// log-path dashboard, whose runs train in other processes).
    /// </summary>
    private static IResult Timeline(HttpContext context, DashboardContext dashboard)
    {
        var runId = context.Request.Query["run"].ToString();
        if (string.IsNullOrEmpty(runId))
        {
            throw ApiError.BadRequest("Pass the run id as ?run=<id> (GET /dashboard/api/runs lists them).");
        }

        var server = dashboard.Server;
        if (server is not null && (dashboard.Options.LogPath is not null || !dashboard.IsVisible(runId, dashboard.User(context))))
        {
            throw ApiError.NotFound($"No run '{runId}' of yours on this server.");
        }

        var entries = server is null || dashboard.Options.LogPath is not null ? [] : server.Timeline.For(runId);
        return DashboardJson.Result(json =>
        {
            json.WriteStartObject();
            json.WriteString("run_id", runId);
            json.WriteNumber("now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            json.WriteBoolean("available", server is not null && dashboard.Options.LogPath is null);
            json.WriteStartArray("operations");
            foreach (var e in entries)
            {
                json.WriteStartObject();
                json.WriteString("op", e.Operation);
                if (e.SeqId is { } seq)
                {
                    json.WriteNumber("seq_id", seq);
                }
                else
                {
                    json.WriteNull("seq_id");
                }

                json.WriteNumber("submitted", e.Submitted.ToUnixTimeMilliseconds());
                WriteTime(json, "started", e.Started);
                WriteTime(json, "ended", e.Ended);
                json.WriteBoolean("failed", e.Failed);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    private static void WriteTime(System.Text.Json.Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            json.WriteNumber(name, t.ToUnixTimeMilliseconds());
        }
        else
        {
            json.WriteNull(name);
        }
    }

    /// <summary>
    /// <c>{"checkpoints":[…]}</c>: the lines of the run folder's <c>checkpoints.jsonl</c> (recipes write one per saved
    /// checkpoint), read-only; an empty list when there is none.
    /// </summary>
    private static IResult LoggedCheckpoints(HttpContext context, DashboardContext dashboard)
    {
        var run = dashboard.FindRun(context, context.Request.Query["run"].ToString());
        var file = Path.Combine(Path.GetDirectoryName(run.FilePath)!, "checkpoints.jsonl");
        var lines = new List<string>();
        if (File.Exists(file))
        {
            var log = new MetricsRun(run.RunId, file);
            log.ReadNew(dashboard.Time.GetUtcNow());
            lines.AddRange(log.Read(0).Records);
        }

        return DashboardJson.Result(json =>
        {
            json.WriteStartObject();
            DashboardJson.WriteRecords(json, "checkpoints", lines);
            json.WriteEndObject();
        });
    }

    /// <summary><c>{"token","expires_at"}</c>: trades the caller's API key (header) for a short-lived event-stream token.</summary>
    private static IResult StreamToken(HttpContext context, DashboardContext dashboard)
    {
        if (dashboard.Tokens is null)
        {
            return DashboardJson.Result(json =>
            {
                json.WriteStartObject();
                json.WriteNull("token");
                json.WriteNull("expires_at");
                json.WriteEndObject();
            });
        }

        var expires = dashboard.Time.GetUtcNow() + dashboard.Options.StreamTokenLifetime;
        var token = dashboard.Tokens.Sign(ServerState.User(context), expires);
        return DashboardJson.Result(json =>
        {
            json.WriteStartObject();
            json.WriteString("token", token);
            json.WriteString("expires_at", expires);
            json.WriteEndObject();
        });
    }

    private static async Task Events(HttpContext context, DashboardContext dashboard)
    {
        string? user = null;
        if (dashboard.Tokens is not null)
        {
            // Scripts and curl may send the key as a header; browsers (EventSource) send a stream token instead.
            var token = context.Request.Query["token"].ToString();
            var key = context.Request.Headers["X-API-Key"].ToString();
            if (token.Length == 0 && key.Length > 0)
            {
                user = dashboard.Server!.Keys.FindUser(key)
                    ?? throw new ApiError(StatusCodes.Status401Unauthorized, "Invalid API key: this server does not know it.");
            }
            else if (token.Length == 0)
            {
                throw new ApiError(
                    StatusCodes.Status401Unauthorized,
                    "Missing stream token: open the event stream with ?token=<token> from POST /dashboard/api/stream-token (send your API key as X-API-Key there).");
            }
            else
            {
                user = dashboard.Tokens.Verify(token, out var problem)
                    ?? throw new ApiError(StatusCodes.Status401Unauthorized, $"Cannot open the event stream: {problem}.");
            }
        }

        await DashboardEventStream.RunAsync(context, dashboard, user).ConfigureAwait(false);
    }
}
