using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TinkerFlow.Server.Http;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Endpoints;

internal static partial class ApiEndpoints
{
    private const int MaxPageSize = 1000;

    private static void MapRest(RouteGroupBuilder api)
    {
        api.MapPost("/weights_info", WeightsInfoAsync);
        api.MapGet("/training_runs", (HttpContext c, ServerState s) =>
            Engine(c, s, async b => ApiResults.Ok(await b.ListTrainingRunsAsync(Limit(c, 20), Offset(c), Scope(c), c.RequestAborted))));
        api.MapGet("/training_runs/{runId}", (HttpContext c, ServerState s, string runId) =>
            Engine(c, s, async b => ApiResults.Ok(await b.GetTrainingRunAsync(runId, Scope(c), c.RequestAborted))));
        api.MapGet("/training_runs/{runId}/checkpoints", (HttpContext c, ServerState s, string runId) =>
            Engine(c, s, async b => ApiResults.Ok(await b.ListCheckpointsAsync(runId, c.RequestAborted))));
        api.MapGet("/checkpoints", (HttpContext c, ServerState s) =>
            Engine(c, s, async b => ApiResults.Ok(await b.ListUserCheckpointsAsync(Limit(c, 100), Offset(c), c.RequestAborted))));

        const string checkpoint = "/training_runs/{runId}/checkpoints/{kind}/{name}";
        api.MapDelete(checkpoint, (HttpContext c, ServerState s, string runId, string kind, string name) =>
            Engine(c, s, async b =>
            {
                await b.DeleteCheckpointAsync(runId, CheckpointId(runId, kind, name), c.RequestAborted);
                return ApiResults.Empty();
            }));
        api.MapPost(checkpoint + "/publish", (HttpContext c, ServerState s, string runId, string kind, string name) =>
            Engine(c, s, async b =>
            {
                await b.PublishCheckpointAsync(runId, CheckpointId(runId, kind, name), c.RequestAborted);
                return ApiResults.Empty();
            }));
        api.MapDelete(checkpoint + "/publish", (HttpContext c, ServerState s, string runId, string kind, string name) =>
            Engine(c, s, async b =>
            {
                await b.UnpublishCheckpointAsync(runId, CheckpointId(runId, kind, name), c.RequestAborted);
                return ApiResults.Empty();
            }));
        api.MapPut(checkpoint + "/ttl", SetTtlAsync);
        api.MapGet(checkpoint + "/archive", ArchiveAsync);
        api.MapGet("/archives/{token}", DownloadArchive);

        api.MapGet("/sessions", (HttpContext c, ServerState s) =>
            Engine(c, s, async b => ApiResults.Ok(await b.ListSessionsAsync(Limit(c, 20), Offset(c), Scope(c), c.RequestAborted))));
        api.MapGet("/sessions/{sessionId}", (HttpContext c, ServerState s, string sessionId) =>
            Engine(c, s, async b => ApiResults.Ok(await b.GetSessionAsync(sessionId, Scope(c), c.RequestAborted))));
        api.MapPut("/sessions/{sessionId}/project", async (HttpContext c, ServerState s, string sessionId) =>
        {
            var body = await RequestBody.ReadBytesAsync(c, s.Options.MaxRequestBodyBytes);
            RequestBody.Parse<JsonElement>(body, "sessions/{id}/project");
            Check(() => s.Store.GetSession(sessionId, ServerState.User(c)));
            return ApiResults.Empty();
        });
        api.MapGet("/sessions/{sessionId}/trace_export", (HttpContext c, ServerState s, string sessionId) =>
        {
            Check(() => s.Store.GetSession(sessionId, ServerState.User(c)));
            return ApiResults.Ok(new Dictionary<string, string> { ["status"] = "failed", ["error"] = "This server does not record traces." });
        });
        api.MapGet("/audit", () => new JsonBytesResult("""{"entries":[]}"""u8.ToArray()));
        api.MapGet("/billing/usage/events", () => new JsonBytesResult("""{"data":[],"sessions":{}}"""u8.ToArray()));
    }

    private static async Task<IResult> WeightsInfoAsync(HttpContext context, ServerState state)
    {
        var request = await Body<WeightsInfoRequest>(context, state, "weights_info");
        Check(() => ParsedCheckpointTinkerPath.FromTinkerPath(request.TinkerPath));
        return await Engine(context, state, async backend => ApiResults.Ok(await backend.GetWeightsInfoAsync(request, context.RequestAborted)));
    }

    private static async Task<IResult> SetTtlAsync(HttpContext context, ServerState state, string runId, string kind, string name)
    {
        var bytes = await RequestBody.ReadBytesAsync(context, state.Options.MaxRequestBodyBytes);
        var request = RequestBody.Parse<SetCheckpointTtlRequest>(bytes, "checkpoint ttl");
        return await Engine(context, state, async backend =>
        {
            await backend.SetCheckpointTtlAsync(runId, CheckpointId(runId, kind, name), request.TtlSeconds, context.RequestAborted);
            return ApiResults.Empty();
        });
    }

    /// <summary>Packs the checkpoint and answers 302 to a signed, expiring download URL on this server.</summary>
    private static Task<IResult> ArchiveAsync(HttpContext context, ServerState state, string runId, string kind, string name) =>
        Engine(context, state, async backend =>
        {
            var packed = await backend.GetCheckpointArchiveUrlAsync(runId, CheckpointId(runId, kind, name), context.RequestAborted);
            var file = Path.GetFileName(new Uri(packed.Url).LocalPath);
            var expires = state.Store.Now + state.Options.ArchiveUrlLifetime;
            var request = context.Request;
            var url = $"{request.Scheme}://{request.Host}{request.PathBase}{ArchiveDownloadPrefix}{state.Archives.Sign(file, expires)}";
            context.Response.Headers.Location = url;
            context.Response.Headers.Expires = expires.ToString("R", CultureInfo.InvariantCulture);
            return new JsonBytesResult(
                TinkerJson.SerializeToUtf8Bytes(new CheckpointArchiveUrlResponse { Url = url, Expires = expires }),
                StatusCodes.Status302Found);
        });

    private static IResult DownloadArchive(HttpContext context, ServerState state, string token)
    {
        var file = state.Archives.Verify(token, out var problem);
        if (file is null)
        {
            return ApiResults.Error(StatusCodes.Status403Forbidden, $"Cannot download: {problem}.");
        }

        var path = Path.Combine(state.Store.Home, "archives", file);
        if (!File.Exists(path))
        {
            return ApiResults.Error(StatusCodes.Status404NotFound, "The archive behind this link was already cleaned up; ask for a new link.");
        }

        return Results.File(path, "application/gzip", file);
    }

    private static string CheckpointId(string runId, string kind, string name)
    {
        try
        {
            return ParsedCheckpointTinkerPath.FromCheckpointId(runId, $"{kind}/{name}").CheckpointId;
        }
        catch (ArgumentException ex)
        {
            throw ApiError.BadRequest(ex.Message);
        }
    }

    private static int Limit(HttpContext context, int fallback)
    {
        var value = IntQuery(context, "limit", fallback);
        return value is >= 1 and <= MaxPageSize ? value : throw ApiError.BadRequest($"limit must be between 1 and {MaxPageSize}, got {value}.");
    }

    private static int Offset(HttpContext context)
    {
        var value = IntQuery(context, "offset", 0);
        return value >= 0 ? value : throw ApiError.BadRequest($"offset must be >= 0, got {value}.");
    }

    private static int IntQuery(HttpContext context, string name, int fallback)
    {
        var raw = context.Request.Query[name].ToString();
        if (raw.Length == 0)
        {
            return fallback;
        }

        return int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw ApiError.BadRequest($"Query parameter {name} must be an integer, got '{raw}'.");
    }

    private static AccessScope Scope(HttpContext context) =>
        context.Request.Query["access_scope"].ToString() switch
        {
            "" or "owned" => AccessScope.Owned,
            "accessible" => AccessScope.Accessible,
            var other => throw ApiError.BadRequest($"access_scope must be 'owned' or 'accessible', got '{other}'."),
        };
}
