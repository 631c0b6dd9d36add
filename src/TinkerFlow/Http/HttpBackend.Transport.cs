using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using TinkerFlow.Diagnostics;
using TinkerFlow.Types;

namespace TinkerFlow.Http;

internal sealed partial class HttpBackend
{
    private static readonly MediaTypeWithQualityHeaderValue JsonAccept = new("application/json");
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    /// <summary>Builds a call with a JSON body.</summary>
    private static HttpCall JsonCall<TRequest>(HttpMethod method, string path, string operation, TRequest body) =>
        new(method, path, operation) { Body = TinkerJson.SerializeToUtf8Bytes(body) };

    /// <summary>Layer A + status check + JSON parse.</summary>
    private async Task<T> SendJsonAsync<T>(HttpCall call, CancellationToken cancellationToken)
    {
        var reply = await SendAsync(call, cancellationToken).ConfigureAwait(false);
        return ParseJson<T>(reply, call);
    }

    /// <summary>Layer A, then throws <see cref="TinkerRequestException"/> for an unsuccessful answer.</summary>
    private async Task<HttpReply> SendAsync(HttpCall call, CancellationToken cancellationToken)
    {
        var reply = await SendWithLowLevelRetriesAsync(call, cancellationToken).ConfigureAwait(false);
        if (reply.IsSuccess || (call.AcceptRedirect && reply.Status is >= 300 and < 400))
        {
            return reply;
        }

        throw HttpErrors.FromReply(reply, call, _baseUrl);
    }

    /// <summary>
    /// Layer A (wire spec §5): retries connection failures, timeouts and 408/409/429/5xx (or whatever
    /// <c>x-should-retry</c> says) up to <see cref="RetryOptions.MaxRetries"/> times with the same idempotency key,
    /// waiting <c>retry-after-ms</c>/<c>retry-after</c> when 0 &lt; d ≤ 60 s, else the jittered exponential back-off.
    /// Returns the last answer, successful or not.
    /// </summary>
    private async Task<HttpReply> SendWithLowLevelRetriesAsync(HttpCall call, CancellationToken cancellationToken)
    {
        var maxRetries = call.LowLevelRetries ? _options.Retry.MaxRetries : 0;
        var idempotencyKey = call.Method == HttpMethod.Get ? null : $"tinkerflow-retry-{Guid.NewGuid()}";
        for (var retries = 0; ; retries++)
        {
            HttpReply reply;
            try
            {
                reply = await SendOnceAsync(call, idempotencyKey, retries, cancellationToken).ConfigureAwait(false);
            }
            catch (TinkerConnectionException) when (retries < maxRetries)
            {
                ClientInstruments.Retry("http", call.Operation);
                await DelayAsync(RetryDelays.LowLevel(_options.Retry, retries, Uniform()), cancellationToken).ConfigureAwait(false);
                continue;
            }

            reply.Attempts = retries + 1;
            if (reply.IsSuccess || retries >= maxRetries || !ShouldRetry(reply))
            {
                return reply;
            }

            var delay = RetryDelays.FromHeaders(reply, _time.GetUtcNow()) ?? RetryDelays.LowLevel(_options.Retry, retries, Uniform());
            ClientInstruments.Retry("http", call.Operation);
            await DelayAsync(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool ShouldRetry(HttpReply reply) => reply.Header("x-should-retry") switch
    {
        { } v when v.Equals("true", StringComparison.OrdinalIgnoreCase) => true,
        { } v when v.Equals("false", StringComparison.OrdinalIgnoreCase) => false,
        _ => HttpErrors.IsRetryableStatus(reply.Status),
    };

    /// <summary>One HTTP exchange with its own timeout; the body is read completely.</summary>
    private async Task<HttpReply> SendOnceAsync(HttpCall call, string? idempotencyKey, int retryCount, CancellationToken cancellationToken)
    {
        var timeout = call.Timeout ?? _options.NetworkTimeout;
        using var timeoutCts = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token, _disposed.Token);
        var credential = await GetCredentialAsync(call, linked.Token).ConfigureAwait(false);
        using var request = new HttpRequestMessage(call.Method, new Uri($"{_baseUrl}/{call.Path}", UriKind.Absolute))
        {
            // HTTP/2 where TLS negotiates it (as the Python SDK's httpx does), HTTP/1.1 otherwise.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Headers.TryAddWithoutValidation("X-API-Key", credential);
        request.Headers.TryAddWithoutValidation("User-Agent", _userAgent);
        request.Headers.Accept.Add(JsonAccept);
        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Idempotency-Key", idempotencyKey);
        }

        request.Headers.TryAddWithoutValidation("X-Stainless-Retry-Count", retryCount.ToString(CultureInfo.InvariantCulture));
        if (Activity.Current is { } activity && !request.Headers.Contains("traceparent"))
        {
            // W3C trace context, so a TinkerFlow server's request and engine spans join the client's trace.
            DistributedContextPropagator.Current.Inject(activity, request.Headers, static (carrier, name, value) =>
            {
                if (carrier is HttpRequestHeaders headers && value is not null)
                {
                    headers.TryAddWithoutValidation(name, value);
                }
            });
        }

        foreach (var (name, value) in call.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (call.Body is { } body)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = JsonContentType;
        }

        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(linked.Token).ConfigureAwait(false);
            return new HttpReply((int)response.StatusCode, response.Headers, response.Content.Headers, bytes, request.RequestUri!);
        }
        catch (OperationCanceledException ex) when (timeoutCts.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !_disposed.IsCancellationRequested)
        {
            throw new TinkerConnectionException(
                $"{call.Operation} timed out: {call.Display} on {_baseUrl} gave no answer within {timeout.TotalSeconds:0.#} s. " +
                "Check the network and TinkerClientOptions.NetworkTimeout; retries are configured by TinkerClientOptions.Retry.",
                isTimeout: true,
                ex);
        }
        catch (HttpRequestException ex)
        {
            throw new TinkerConnectionException(
                $"{call.Operation} failed: could not reach {_baseUrl} ({call.Display}): {ex.Message}. " +
                "Check TinkerClientOptions.BaseUrl / TINKER_BASE_URL and the network; retries are configured by TinkerClientOptions.Retry.",
                isTimeout: false,
                ex);
        }
    }

    /// <summary>Parses a successful JSON answer.</summary>
    private T ParseJson<T>(HttpReply reply, HttpCall call)
    {
        try
        {
            return TinkerJson.Deserialize<T>(reply.Body);
        }
        catch (JsonException ex)
        {
            var body = reply.BodyText;
            throw new TinkerRequestException(
                $"{call.Operation}: {call.Display} on {_baseUrl} answered HTTP {reply.Status} ({reply.MediaType ?? "no content type"}) with a body that is not a valid {typeof(T).Name}: {ex.Message} " +
                $"Body starts with: {(body.Length > 200 ? body[..200] : body)}. Is this a Tinker-compatible server?",
                RequestErrorCategory.Server,
                reply.Status,
                call.RequestId,
                body,
                ex);
        }
    }

    /// <summary>
    /// Layer B (wire spec §5): retries connection failures, timeouts and 408/409/429/5xx (and a body-less 400 from an
    /// edge proxy) waiting <c>min(2^n, 30)</c> s until <see cref="RetryOptions.TotalTimeout"/> has passed since the
    /// first attempt; 402 pauses 5 s within the billing window without counting.
    /// </summary>
    /// <param name="operation">For messages.</param>
    /// <param name="attempt">One attempt of the call.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <param name="exclude">Failures this call must not retry here (e.g. a 429 on asample, which is back-pressure).</param>
    private async Task<T> WithOuterRetriesAsync<T>(string operation, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken, Func<TinkerRequestException, bool>? exclude = null)
    {
        var start = _time.GetTimestamp();
        for (var n = 0; ; )
        {
            try
            {
                return await attempt(cancellationToken).ConfigureAwait(false);
            }
            catch (TinkerRequestException ex) when (ex.Status == 402 && exclude?.Invoke(ex) != true && _billing.ShouldPause(BillingWindow))
            {
                await DelayAsync(BillingPause.PauseDelay, cancellationToken).ConfigureAwait(false);
            }
            catch (TinkerRequestException ex) when (IsOuterRetryable(ex) && exclude?.Invoke(ex) != true)
            {
                var elapsed = _time.GetElapsedTime(start);
                if (elapsed >= _options.Retry.TotalTimeout)
                {
                    if (n == 0)
                    {
                        throw;
                    }

                    throw new TinkerRequestException(
                        $"{ex.Message} Still failing after {n + 1} tries over {elapsed.TotalSeconds:0} s; TinkerClientOptions.Retry.TotalTimeout ({_options.Retry.TotalTimeout.TotalSeconds:0} s) limits how long {operation} is retried.",
                        ex.Category,
                        ex.Status,
                        ex.RequestId,
                        ex.ResponseBody,
                        ex);
                }

                ClientInstruments.Retry("call", operation);
                await DelayAsync(RetryDelays.Exponential(n), cancellationToken).ConfigureAwait(false);
                n++;
            }
        }
    }

    private TimeSpan BillingWindow => TimeSpan.FromSeconds(_config?.BillingExceptionMaxPauseDurationSec ?? 3600);

    private static bool IsOuterRetryable(TinkerRequestException ex) =>
        ex is TinkerConnectionException
        || (ex.Status is { } status && HttpErrors.IsRetryableStatus(status))
        || (ex.Status == 400 && string.IsNullOrEmpty(ex.ResponseBody));

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return Task.CompletedTask;
        }

        if (!cancellationToken.CanBeCanceled)
        {
            return Task.Delay(delay, _time, _disposed.Token);
        }

        return DelayLinkedAsync(delay, cancellationToken);
    }

    private async Task DelayLinkedAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        await Task.Delay(delay, _time, linked.Token).ConfigureAwait(false);
    }
}
