using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace TinkerFlow.Server.Tests.Faults;

/// <summary>
/// A client-side <see cref="DelegatingHandler"/> that breaks chosen HTTP attempts in the ways a network breaks them
/// (<see cref="FaultKind"/>). The plan sees the endpoint, the training <c>seq_id</c> of the body (when it has one) and
/// how many attempts of that same (endpoint, seq_id) came before, so a fault hits a first attempt and its retry goes
/// through. The handler also rewrites every request to <see cref="Target"/>, so a client survives a server restart on
/// another port, and records what reached the server and which request id each training submission got.
/// </summary>
internal sealed class FaultInjectingHandler : DelegatingHandler
{
    /// <summary>The request header that asks the server-side middleware of <see cref="FaultHost"/> to abort the connection.</summary>
    public const string ServerFaultHeader = "X-Test-Fault";

    private readonly Func<FaultRequest, FaultKind> _plan;
    private readonly ConcurrentDictionary<(string Endpoint, int Seq), int> _attempts = new();
    private readonly ConcurrentDictionary<(string Endpoint, int Seq), ConcurrentBag<string>> _requestIds = new();
    private readonly ConcurrentDictionary<(string Endpoint, int Seq), int> _delivered = new();
    private readonly ConcurrentDictionary<FaultKind, int> _injected = new();
    private int _polls;

    public FaultInjectingHandler(Uri target, Func<FaultRequest, FaultKind> plan)
        : base(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
    {
        Target = target;
        _plan = plan;
    }

    /// <summary>Where requests go (scheme, host and port replace those of the client's base URL).</summary>
    public Uri Target { get; set; }

    /// <summary>When false, every request passes untouched.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How many faults of each kind were injected.</summary>
    public IReadOnlyDictionary<FaultKind, int> Injected => _injected;

    /// <summary>How many times each training submission reached the server (more than once = a replay).</summary>
    public IReadOnlyDictionary<(string Endpoint, int Seq), int> Delivered => _delivered;

    /// <summary>The distinct request ids the server answered for each training submission (the answer may have been lost).</summary>
    public IReadOnlyDictionary<(string Endpoint, int Seq), IReadOnlyCollection<string>> RequestIds =>
        _requestIds.ToDictionary(kv => kv.Key, kv => (IReadOnlyCollection<string>)kv.Value.Distinct().ToList());

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.RequestUri = new UriBuilder(request.RequestUri!) { Scheme = Target.Scheme, Host = Target.Host, Port = Target.Port }.Uri;
        var endpoint = request.RequestUri.AbsolutePath.Split("/api/v1/", 2)[^1];
        var seq = request.Content is null ? null : ReadSeqId(await request.Content.ReadAsByteArrayAsync(cancellationToken));
        var attempt = _attempts.AddOrUpdate((endpoint, seq ?? -1), 0, (_, n) => n + 1);
        var poll = endpoint == "retrieve_future" ? Interlocked.Increment(ref _polls) : 0;
        var fault = Enabled ? _plan(new FaultRequest(endpoint, seq, attempt, poll)) : FaultKind.None;
        if (fault != FaultKind.None)
        {
            _injected.AddOrUpdate(fault, 1, (_, n) => n + 1);
        }

        switch (fault)
        {
            case FaultKind.FailBeforeSend:
                throw new HttpRequestException($"injected: connection refused before sending {endpoint}", new IOException("injected"));
            case FaultKind.TooManyRequests:
                var limited = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { RequestMessage = request, Content = new StringContent("""{"error":"injected rate limit","category":"server"}""") };
                limited.Headers.TryAddWithoutValidation("Retry-After", "0.02");
                return limited;
            case FaultKind.ServerAbort:
                request.Headers.TryAddWithoutValidation(ServerFaultHeader, "abort");
                break;
        }

        // A late answer must first be a delivered one: on a loaded machine the client's timeout could otherwise cancel
        // the exchange itself, and the request would reach the server without being counted.
        var exchangeToken = fault == FaultKind.DelayPastTimeout ? CancellationToken.None : cancellationToken;
        var response = await base.SendAsync(request, exchangeToken);
        var body = await response.Content.ReadAsByteArrayAsync(exchangeToken);
        if (seq is { } delivered && endpoint != "retrieve_future")
        {
            _delivered.AddOrUpdate((endpoint, delivered), 1, (_, n) => n + 1);
            if (response.IsSuccessStatusCode && ReadRequestId(body) is { } id)
            {
                _requestIds.GetOrAdd((endpoint, delivered), _ => []).Add(id);
            }
        }

        switch (fault)
        {
            case FaultKind.DropAfterProcessing:
                response.Dispose();
                throw new HttpRequestException($"injected: connection reset after the server answered {endpoint}", new IOException("injected"));
            case FaultKind.DelayPastTimeout:
                response.Dispose();
                await Task.Delay(Timeout.Infinite, cancellationToken);
                throw new InvalidOperationException("unreachable: the client's timeout cancels the delay");
            case FaultKind.ServiceUnavailable:
                response.Dispose();
                var unavailable = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request, Content = new StringContent("upstream unavailable (injected)") };
                unavailable.Headers.TryAddWithoutValidation("retry-after-ms", "20");
                return unavailable;
            default:
                // The body was read to record the request id: hand the client a fresh copy.
                var copy = new HttpResponseMessage(response.StatusCode) { RequestMessage = request, Version = response.Version, Content = new ByteArrayContent(body) };
                foreach (var (name, values) in response.Headers)
                {
                    copy.Headers.TryAddWithoutValidation(name, values);
                }

                foreach (var (name, values) in response.Content.Headers)
                {
                    copy.Content.Headers.TryAddWithoutValidation(name, values);
                }

                response.Dispose();
                return copy;
        }
    }

    private static int? ReadSeqId(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("seq_id", out var seq) && seq.ValueKind == JsonValueKind.Number
                ? seq.GetInt32()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? ReadRequestId(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("request_id", out var id) && id.ValueKind == JsonValueKind.String
                ? id.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
