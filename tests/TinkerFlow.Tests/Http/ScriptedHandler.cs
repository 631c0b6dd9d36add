using System.Net;
using System.Text;

namespace TinkerFlow.Tests.Http;

/// <summary>A request the <see cref="ScriptedHandler"/> received.</summary>
internal sealed record RecordedRequest(HttpMethod Method, Uri Uri, IReadOnlyDictionary<string, string> Headers, string? Body)
{
    /// <summary>"METHOD path?query", e.g. "GET /api/v1/checkpoints?limit=100&amp;offset=0".</summary>
    public string Line => $"{Method.Method} {Uri.PathAndQuery}";

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A fake <see cref="HttpMessageHandler"/>: answers each "METHOD /path" from a queue of scripted responders (the last
/// one repeats), records every request, and lets tests await the n-th request. client/config answers <c>{}</c> unless
/// scripted.
/// </summary>
internal sealed class ScriptedHandler : HttpMessageHandler
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Queue<Responder>> _scripts = new(StringComparer.Ordinal);
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<(Func<IReadOnlyList<RecordedRequest>, bool> Condition, TaskCompletionSource Signal)> _waiters = [];

    public delegate Task<HttpResponseMessage> Responder(RecordedRequest request, CancellationToken cancellationToken);

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return _requests.ToList();
            }
        }
    }

    /// <summary>Requests to a path (without query), in order.</summary>
    public IReadOnlyList<RecordedRequest> To(string path) => Requests.Where(r => r.Uri.AbsolutePath.EndsWith(path, StringComparison.Ordinal)).ToList();

    /// <summary>Adds responders for "METHOD /absolute/path" (query ignored).</summary>
    public ScriptedHandler On(string methodAndPath, params Responder[] responders)
    {
        lock (_gate)
        {
            if (!_scripts.TryGetValue(methodAndPath, out var queue))
            {
                _scripts[methodAndPath] = queue = new Queue<Responder>();
            }

            foreach (var responder in responders)
            {
                queue.Enqueue(responder);
            }
        }

        return this;
    }

    /// <summary>Completes when the recorded requests satisfy <paramref name="condition"/> (real-time limit 10 s).</summary>
    public Task WaitForAsync(Func<IReadOnlyList<RecordedRequest>, bool> condition)
    {
        lock (_gate)
        {
            if (condition(_requests))
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((condition, signal));
            return signal.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>Completes when <paramref name="count"/> requests to <paramref name="path"/> have arrived.</summary>
    public Task WaitForCountAsync(string path, int count) =>
        WaitForAsync(rs => rs.Count(r => r.Uri.AbsolutePath.EndsWith(path, StringComparison.Ordinal)) >= count);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in request.Headers)
        {
            headers[name] = string.Join(",", values);
        }

        if (request.Content is not null)
        {
            foreach (var (name, values) in request.Content.Headers)
            {
                headers[name] = string.Join(",", values);
            }
        }

        var recorded = new RecordedRequest(request.Method, request.RequestUri!, headers, body);
        Responder? responder;
        var key = $"{request.Method.Method} {request.RequestUri!.AbsolutePath}";
        lock (_gate)
        {
            _requests.Add(recorded);
            foreach (var waiter in _waiters.Where(w => w.Condition(_requests)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Signal.TrySetResult();
            }

            responder = _scripts.TryGetValue(key, out var queue) && queue.Count > 0
                ? (queue.Count > 1 ? queue.Dequeue() : queue.Peek())
                : null;
        }

        if (responder is null && request.RequestUri.AbsolutePath.EndsWith("/api/v1/client/config", StringComparison.Ordinal))
        {
            responder = Json(200, "{}");
        }

        if (responder is null)
        {
            return new HttpResponseMessage(HttpStatusCode.NotImplemented)
            {
                Content = new StringContent($"{{\"detail\":\"unscripted request {key}\"}}", Encoding.UTF8, "application/json"),
                RequestMessage = request,
            };
        }

        var response = await responder(recorded, cancellationToken);
        response.RequestMessage = request;
        return response;
    }

    /// <summary>Answers <paramref name="status"/> with a JSON body and optional headers.</summary>
    public static Responder Json(int status, string json, params (string Name, string Value)[] headers) => (_, _) =>
    {
        var response = new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            if (!response.Headers.TryAddWithoutValidation(name, value))
            {
                response.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return Task.FromResult(response);
    };

    /// <summary>Answers with a status and an empty body.</summary>
    public static Responder Status(int status, params (string Name, string Value)[] headers) => (_, _) =>
    {
        var response = new HttpResponseMessage((HttpStatusCode)status) { Content = new ByteArrayContent([]) };
        foreach (var (name, value) in headers)
        {
            if (!response.Headers.TryAddWithoutValidation(name, value))
            {
                response.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return Task.FromResult(response);
    };

    /// <summary>Fails the connection.</summary>
    public static Responder ConnectionFailure() => (_, _) => throw new HttpRequestException("Connection refused (scripted)");

    /// <summary>Never answers (until the client cancels).</summary>
    public static Responder Hang() => async (_, ct) =>
    {
        await Task.Delay(Timeout.Infinite, ct);
        throw new InvalidOperationException("unreachable");
    };

    public static Responder Future(string requestId) => Json(200, $$"""{"request_id":"{{requestId}}"}""");

    public static Responder TryAgain(string requestId, string queueState = "active", string? reason = null) => Json(
        200,
        reason is null
            ? $$"""{"type":"try_again","request_id":"{{requestId}}","queue_state":"{{queueState}}"}"""
            : $$"""{"type":"try_again","request_id":"{{requestId}}","queue_state":"{{queueState}}","queue_state_reason":"{{reason}}"}""");
}
