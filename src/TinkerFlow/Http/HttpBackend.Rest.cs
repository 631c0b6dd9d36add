using System.Globalization;
using TinkerFlow.Types;

namespace TinkerFlow.Http;

internal sealed partial class HttpBackend
{
    /// <summary>Tries of the archive endpoint while it answers 503 (archive being prepared).</summary>
    internal const int ArchiveMaxTries = 6;

    /// <summary>Wait between archive tries after a 503.</summary>
    internal static readonly TimeSpan ArchiveRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>Expiry assumed when a 302 archive answer has no <c>Expires</c> header.</summary>
    internal static readonly TimeSpan DefaultArchiveExpiry = TimeSpan.FromMinutes(15);

    /// <inheritdoc/>
    public override Task<WeightsInfoResponse> GetWeightsInfoAsync(WeightsInfoRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return RestAsync<WeightsInfoResponse>(JsonCall(HttpMethod.Post, "api/v1/weights_info", "weights_info", request), cancellationToken);
    }

    /// <inheritdoc/>
    public override Task<TrainingRun> GetTrainingRunAsync(string trainingRunId, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        RestAsync<TrainingRun>(Get($"api/v1/training_runs/{trainingRunId}?access_scope={Scope(accessScope)}", "get_training_run"), cancellationToken);

    /// <inheritdoc/>
    public override Task<TrainingRunsResponse> ListTrainingRunsAsync(int limit, int offset, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        RestAsync<TrainingRunsResponse>(Get($"api/v1/training_runs?limit={Num(limit)}&offset={Num(offset)}&access_scope={Scope(accessScope)}", "list_training_runs"), cancellationToken);

    /// <inheritdoc/>
    public override Task<CheckpointsListResponse> ListCheckpointsAsync(string trainingRunId, CancellationToken cancellationToken = default) =>
        RestAsync<CheckpointsListResponse>(Get($"api/v1/training_runs/{trainingRunId}/checkpoints", "list_checkpoints"), cancellationToken);

    /// <inheritdoc/>
    public override Task<CheckpointsListResponse> ListUserCheckpointsAsync(int limit, int offset, CancellationToken cancellationToken = default) =>
        RestAsync<CheckpointsListResponse>(Get($"api/v1/checkpoints?limit={Num(limit)}&offset={Num(offset)}", "list_user_checkpoints"), cancellationToken);

    /// <inheritdoc/>
    public override async Task<CheckpointArchiveUrlResponse> GetCheckpointArchiveUrlAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var call = Get($"api/v1/training_runs/{trainingRunId}/checkpoints/{checkpointId}/archive", "get_checkpoint_archive_url") with
        {
            AcceptRedirect = true,
            LowLevelRetries = false,
        };
        return await WithOuterRetriesAsync(call.Operation, ct => ArchiveAttemptAsync(call, ct), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task DeleteCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        RestAsync(new HttpCall(HttpMethod.Delete, CheckpointPath(trainingRunId, checkpointId), "delete_checkpoint"), cancellationToken);

    /// <inheritdoc/>
    public override Task PublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        RestAsync(new HttpCall(HttpMethod.Post, $"{CheckpointPath(trainingRunId, checkpointId)}/publish", "publish_checkpoint"), cancellationToken);

    /// <inheritdoc/>
    public override Task UnpublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        RestAsync(new HttpCall(HttpMethod.Delete, $"{CheckpointPath(trainingRunId, checkpointId)}/publish", "unpublish_checkpoint"), cancellationToken);

    /// <inheritdoc/>
    public override Task SetCheckpointTtlAsync(string trainingRunId, string checkpointId, long? ttlSeconds, CancellationToken cancellationToken = default) =>
        RestAsync(
            JsonCall(HttpMethod.Put, $"{CheckpointPath(trainingRunId, checkpointId)}/ttl", "set_checkpoint_ttl", new SetCheckpointTtlRequest { TtlSeconds = ttlSeconds }),
            cancellationToken);

    /// <inheritdoc/>
    public override Task<ListSessionsResponse> ListSessionsAsync(int limit, int offset, CancellationToken cancellationToken = default) =>
        ListSessionsAsync(limit, offset, AccessScope.Owned, cancellationToken);

    /// <inheritdoc/>
    public override Task<ListSessionsResponse> ListSessionsAsync(int limit, int offset, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        RestAsync<ListSessionsResponse>(Get($"api/v1/sessions?limit={Num(limit)}&offset={Num(offset)}&access_scope={Scope(accessScope)}", "list_sessions"), cancellationToken);

    /// <inheritdoc/>
    public override Task<GetSessionResponse> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        GetSessionAsync(sessionId, AccessScope.Owned, cancellationToken);

    /// <inheritdoc/>
    public override Task<GetSessionResponse> GetSessionAsync(string sessionId, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        RestAsync<GetSessionResponse>(Get($"api/v1/sessions/{sessionId}?access_scope={Scope(accessScope)}", "get_session"), cancellationToken);

    /// <inheritdoc/>
    public override Task<GetSamplerResponse> GetSamplerAsync(string samplerId, CancellationToken cancellationToken = default) =>
        RestAsync<GetSamplerResponse>(Get($"api/v1/samplers/{samplerId}", "get_sampler"), cancellationToken);

    /// <summary>One layer-B attempt at the archive URL: 302 + Location (+Expires) or 200 JSON; 503 waits 30 s, up to 6 tries.</summary>
    private async Task<CheckpointArchiveUrlResponse> ArchiveAttemptAsync(HttpCall call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var reply = await SendWithLowLevelRetriesAsync(call, cancellationToken).ConfigureAwait(false);
            if (reply.Status == 503 && attempt < ArchiveMaxTries)
            {
                await DelayAsync(ArchiveRetryDelay, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (reply.Status is >= 300 and < 400)
            {
                var location = reply.Headers.Location ?? throw new TinkerRequestException(
                    $"{call.Display} on {_baseUrl} answered HTTP {reply.Status} without a Location header; the server must redirect to the archive.",
                    RequestErrorCategory.Server,
                    reply.Status);
                var url = location.IsAbsoluteUri ? location : new Uri(reply.RequestUri, location);
                var expires = reply.ContentHeaders.Expires ?? ParseExpires(reply.Header("expires")) ?? _time.GetUtcNow() + DefaultArchiveExpiry;
                return new CheckpointArchiveUrlResponse { Url = url.AbsoluteUri, Expires = expires };
            }

            if (reply.IsSuccess)
            {
                return ParseJson<CheckpointArchiveUrlResponse>(reply, call);
            }

            throw HttpErrors.FromReply(reply, call, _baseUrl);
        }
    }

    private static DateTimeOffset? ParseExpires(string? value) =>
        value is not null && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date : null;

    private async Task<T> RestAsync<T>(HttpCall call, CancellationToken cancellationToken)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        return await WithOuterRetriesAsync(call.Operation, ct => SendJsonAsync<T>(call, ct), cancellationToken).ConfigureAwait(false);
    }

    private async Task RestAsync(HttpCall call, CancellationToken cancellationToken)
    {
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        await WithOuterRetriesAsync(call.Operation, async ct => await SendAsync(call, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    // Ids go into the path unescaped, as the Python SDK does: model ids contain ':' (legal in a path segment) and
    // checkpoint ids span two segments ("weights/<name>").
    private static string CheckpointPath(string trainingRunId, string checkpointId) => $"api/v1/training_runs/{trainingRunId}/checkpoints/{checkpointId}";

    private static HttpCall Get(string path, string operation) => new(HttpMethod.Get, path, operation);

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Scope(AccessScope scope) => scope == AccessScope.Accessible ? "accessible" : "owned";
}
