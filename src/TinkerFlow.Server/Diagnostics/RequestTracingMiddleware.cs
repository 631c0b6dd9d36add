using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TinkerFlow.Diagnostics;

namespace TinkerFlow.Server.Diagnostics;

/// <summary>
/// One <see cref="ActivityKind.Server"/> span per <c>/api</c> request on the "TinkerFlow" source, named after the
/// route (<c>POST /api/v1/forward_backward</c>). Its parent is the caller's W3C <c>traceparent</c> (or ASP.NET Core's
/// own request activity when one exists), so a TinkerFlow client's operation, this request and the engine step it
/// queues share one trace.
/// </summary>
internal sealed class RequestTracingMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal) || !TinkerFlowTelemetry.ActivitySource.HasListeners())
        {
            await next(context);
            return;
        }

        var parent = Activity.Current?.Context ?? default;
        if (Activity.Current is null
            && context.Request.Headers.TryGetValue("traceparent", out var traceparent)
            && ActivityContext.TryParse(traceparent.ToString(), context.Request.Headers.TryGetValue("tracestate", out var state) ? state.ToString() : null, isRemote: true, out var remote))
        {
            parent = remote;
        }

        var name = $"{context.Request.Method} {context.Request.Path}";
        using var activity = TinkerFlowTelemetry.ActivitySource.StartActivity(name, ActivityKind.Server, parent);
        if (activity is null)
        {
            await next(context);
            return;
        }

        activity.SetTag("http.request.method", context.Request.Method);
        activity.SetTag("url.path", context.Request.Path.Value);
        try
        {
            await next(context);
        }
        catch (Exception ex)
        {
            activity.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
        finally
        {
            if (context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } route })
            {
                activity.DisplayName = $"{context.Request.Method} {route}";
                activity.SetTag("http.route", route);
            }

            activity.SetTag("http.response.status_code", context.Response.StatusCode);
            if (context.Response.StatusCode >= 500)
            {
                activity.SetStatus(ActivityStatusCode.Error);
            }
        }
    }
}
