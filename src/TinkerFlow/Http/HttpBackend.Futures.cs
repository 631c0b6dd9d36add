using System.Globalization;
using System.Text.Json;
using TinkerFlow.Diagnostics;
using TinkerFlow.Types;

namespace TinkerFlow.Http;

internal sealed partial class HttpBackend
{
    /// <summary>Bare 400s (from proxies) tolerated in a row before a poll fails.</summary>
    internal const int MaxBareBadRequests = 3;

    /// <summary>
    /// Layer C (wire spec §4.2, §4.3): long-polls <c>retrieve_future</c> until the result, an error payload, or a fatal
    /// status. try_again, 408 and 5xx re-poll at once; 429, connection failures and the 45 s poll timeout back off
    /// <c>min(2^n, 30)</c> s; 402 pauses within the billing window; a bare 400 is tolerated three times.
    /// </summary>
    private async Task<T> PollAsync<T>(string requestId, string requestType, QueueSubject subject, string roundTripSeconds, CancellationToken cancellationToken)
    {
        // Let the submitter get its BackendOperation before the first poll runs.
        await Task.Yield();
        var allowMetadataOnly = true;
        var connectionFailures = 0;
        var rateLimited = 0;
        var badRequests = 0;
        for (var iteration = 0; ; iteration++)
        {
            var headers = new List<KeyValuePair<string, string>>
            {
                new("X-Tinker-Request-Iteration", iteration.ToString(CultureInfo.InvariantCulture)),
                new("X-Tinker-Request-Type", requestType),
            };
            if (iteration == 0)
            {
                headers.Add(new("X-Tinker-Create-Promise-Roundtrip-Time", roundTripSeconds));
            }

            var call = JsonCall(HttpMethod.Post, "api/v1/retrieve_future", "retrieve_future", new FutureRetrieveRequest { RequestId = requestId, AllowMetadataOnly = allowMetadataOnly }) with
            {
                LowLevelRetries = false,
                Timeout = PollTimeout,
                Headers = headers,
                RequestId = requestId,
            };

            HttpReply reply;
            try
            {
                reply = await SendOnceAsync(call, $"tinkerflow-retry-{Guid.NewGuid()}", 0, cancellationToken).ConfigureAwait(false);
            }
            catch (TinkerConnectionException)
            {
                ClientInstruments.Retry("poll", requestType);
                await DelayAsync(RetryDelays.Exponential(connectionFailures++), cancellationToken).ConfigureAwait(false);
                continue;
            }

            connectionFailures = 0;
            if (reply.Status != 429)
            {
                rateLimited = 0;
            }

            switch (reply.Status)
            {
                case 200:
                    var outcome = ReadPollAnswer<T>(reply, call, subject, ref allowMetadataOnly);
                    if (outcome.Done)
                    {
                        return outcome.Value!;
                    }

                    badRequests = 0;
                    continue;
                case 408:
                    ReportQueueState(reply, subject);
                    badRequests = 0;
                    continue;
                case >= 500:
                    continue;
                case 429:
                    ClientInstruments.Retry("poll", requestType);
                    await DelayAsync(RetryDelays.Exponential(rateLimited++), cancellationToken).ConfigureAwait(false);
                    continue;
                case 402 when _billing.ShouldPause(BillingWindow):
                    await DelayAsync(BillingPause.PauseDelay, cancellationToken).ConfigureAwait(false);
                    continue;
                case 400 when ++badRequests <= MaxBareBadRequests:
                    continue;
                case 410:
                    throw new TinkerRequestException(
                        $"Request {requestId} ({requestType}) expired on the server before its result was fetched (HTTP 410); submit it again.",
                        RequestErrorCategory.Server,
                        410,
                        requestId,
                        reply.BodyText);
                default:
                    throw HttpErrors.FromReply(reply, call, _baseUrl);
            }
        }
    }

    /// <summary>Interprets a 200 poll answer: try_again, complete_metadata, an error payload, or the result.</summary>
    private (bool Done, T? Value) ReadPollAnswer<T>(HttpReply reply, HttpCall call, QueueSubject subject, ref bool allowMetadataOnly)
    {
        if (reply.MediaType is { } media && media.Contains("protobuf", StringComparison.OrdinalIgnoreCase))
        {
            throw new TinkerRequestException(
                $"retrieve_future for {call.RequestId} answered with protobuf ({media}) although TinkerFlow asked for JSON; this server needs a newer wire level than SDK {ServiceClient.EmulatedSdkVersion}.",
                RequestErrorCategory.Server,
                reply.Status,
                call.RequestId);
        }

        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(reply.Body);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new TinkerRequestException(
                $"retrieve_future for {call.RequestId} answered HTTP 200 with a body that is not JSON; is {_baseUrl} a Tinker-compatible server?",
                RequestErrorCategory.Server,
                reply.Status,
                call.RequestId,
                reply.BodyText,
                ex);
        }

        if (root.ValueKind == JsonValueKind.Object)
        {
            if (root.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("try_again"))
            {
                ReportQueueState(root, subject);
                return (false, default);
            }

            if (root.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.String && status.ValueEquals("complete_metadata"))
            {
                if (!allowMetadataOnly)
                {
                    throw new TinkerRequestException(
                        $"retrieve_future for {call.RequestId} answered complete_metadata twice; the server must send the payload when allow_metadata_only is false.",
                        RequestErrorCategory.Server,
                        reply.Status,
                        call.RequestId,
                        reply.BodyText);
                }

                allowMetadataOnly = false;
                return (false, default);
            }

            if (root.TryGetProperty("error", out _))
            {
                var failed = TinkerJson.Deserialize<RequestFailedResponse>(root);
                var advice = failed.Category switch
                {
                    RequestErrorCategory.User => "Fix the request and submit it again.",
                    RequestErrorCategory.Server => "The server failed to run it; try again later, and report it if it persists.",
                    _ => "See the server's message.",
                };

                // Status 200: the HTTP exchange worked and the job failed; such failures are never retried (wire spec §4.2).
                throw new TinkerRequestException(
                    $"Request {call.RequestId} failed ({failed.Category.ToString().ToLowerInvariant()} error): {failed.Error} {advice}",
                    failed.Category,
                    reply.Status,
                    call.RequestId,
                    reply.BodyText);
            }
        }

        return (true, ParseJson<T>(reply, call));
    }

    private void ReportQueueState(HttpReply reply, QueueSubject subject)
    {
        try
        {
            using var doc = JsonDocument.Parse(reply.Body);
            ReportQueueState(doc.RootElement, subject);
        }
        catch (JsonException)
        {
            // A 408 without a JSON body carries no queue state.
        }
    }

    private void ReportQueueState(JsonElement root, QueueSubject subject)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("queue_state", out var stateElement) || stateElement.ValueKind != JsonValueKind.String)
        {
            return;
        }

        var state = stateElement.GetString() switch
        {
            "paused_capacity" => QueueState.PausedCapacity,
            "paused_rate_limit" => QueueState.PausedRateLimit,
            _ => QueueState.Active,
        };
        var reason = root.TryGetProperty("queue_state_reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        _queueWarnings.Report(subject, state, reason);
    }
}
