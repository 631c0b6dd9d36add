using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// <c>GET /dashboard/api/events</c>: server-sent events carrying every visible run's metrics, then each new line as it
/// is appended. Events (each <c>data</c> is one JSON object):
/// <list type="bullet">
/// <item><c>hello</c> <c>{"mode","poll_ms"}</c>: first on every (re)connection; the page drops what it had.</item>
/// <item><c>run</c> <c>{"run_id","records","last_step","updated_at","skipped_lines"}</c>: a run seen for the first time.</item>
/// <item><c>metrics</c> <c>{"run_id","from","records":[{"step":…,…}]}</c>: records <c>from</c>, <c>from+1</c>, … of the run's file.</item>
/// <item><c>reset</c> <c>{"run_id"}</c>: the file was truncated or replaced; its records follow again from 0.</item>
/// </list>
/// Idle streams get a <c>: ping</c> comment every <see cref="DashboardOptions.HeartbeatInterval"/>.
/// </summary>
internal static class DashboardEventStream
{
    private const int MaxRecordsPerEvent = 1000;

    public static async Task RunAsync(HttpContext context, DashboardContext dashboard, string? user)
    {
        var lifetime = context.RequestServices.GetService<IHostApplicationLifetime>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime?.ApplicationStopping ?? CancellationToken.None);
        var token = stop.Token;
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-transform";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(token).ConfigureAwait(false);

        var body = response.Body;
        var options = dashboard.Options;
        var cursors = new Dictionary<string, (int Generation, int Count)>(StringComparer.Ordinal);
        var catalog = dashboard.Catalog;
        var seenVersion = -1L;
        var lastWrite = dashboard.Time.GetTimestamp();
        try
        {
            await WriteAsync(body, "retry: 3000\n\n", token).ConfigureAwait(false);
            await SendAsync(body, "hello", json =>
            {
                json.WriteStartObject();
                json.WriteString("mode", dashboard.Mode);
                json.WriteNumber("poll_ms", (int)options.PollInterval.TotalMilliseconds);
                json.WriteEndObject();
            }, token).ConfigureAwait(false);
            var first = true;
            while (!token.IsCancellationRequested)
            {
                catalog.Refresh(force: first);
                first = false;
                var version = catalog.Version;
                var sent = false;
                if (version != seenVersion)
                {
                    seenVersion = version;
                    foreach (var run in catalog.Runs)
                    {
                        if (dashboard.IsVisible(run.RunId, user))
                        {
                            sent |= await SendRunAsync(body, run, cursors, token).ConfigureAwait(false);
                        }
                    }
                }

                if (sent)
                {
                    lastWrite = dashboard.Time.GetTimestamp();
                }
                else if (dashboard.Time.GetElapsedTime(lastWrite) >= options.HeartbeatInterval)
                {
                    await WriteAsync(body, ": ping\n\n", token).ConfigureAwait(false);
                    lastWrite = dashboard.Time.GetTimestamp();
                }

                await Task.Delay(options.PollInterval, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (IOException) when (token.IsCancellationRequested || context.RequestAborted.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sends what the stream has not seen of one run.</summary>
    private static async Task<bool> SendRunAsync(Stream body, MetricsRun run, Dictionary<string, (int Generation, int Count)> cursors, CancellationToken token)
    {
        var sent = false;
        if (!cursors.TryGetValue(run.RunId, out var cursor))
        {
            await SendAsync(body, "run", json => DashboardJson.WriteRun(json, run), token).ConfigureAwait(false);
            cursor = (run.Generation, 0);
            sent = true;
        }

        var (generation, records) = run.Read(cursor.Count);
        if (generation != cursor.Generation)
        {
            await SendAsync(body, "reset", json =>
            {
                json.WriteStartObject();
                json.WriteString("run_id", run.RunId);
                json.WriteEndObject();
            }, token).ConfigureAwait(false);
            (generation, records) = run.Read(0);
            cursor = (generation, 0);
            sent = true;
        }

        for (var start = 0; start < records.Count; start += MaxRecordsPerEvent)
        {
            var from = cursor.Count + start;
            var chunk = records.Skip(start).Take(MaxRecordsPerEvent);
            await SendAsync(body, "metrics", json =>
            {
                json.WriteStartObject();
                json.WriteString("run_id", run.RunId);
                json.WriteNumber("from", from);
                DashboardJson.WriteRecords(json, "records", chunk);
                json.WriteEndObject();
            }, token).ConfigureAwait(false);
            sent = true;
        }

        cursors[run.RunId] = (cursor.Generation, cursor.Count + records.Count);
        return sent;
    }

    private static Task SendAsync(Stream body, string name, Action<Utf8JsonWriter> write, CancellationToken token)
    {
        // JSON written by Utf8JsonWriter has no raw newlines, so one data line carries the whole object.
        var data = Encoding.UTF8.GetString(DashboardJson.Write(write));
        return WriteAsync(body, $"event: {name}\ndata: {data}\n\n", token);
    }

    private static async Task WriteAsync(Stream body, string text, CancellationToken token)
    {
        await body.WriteAsync(Encoding.UTF8.GetBytes(text), token).ConfigureAwait(false);
        await body.FlushAsync(token).ConfigureAwait(false);
    }
}
