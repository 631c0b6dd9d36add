using System.Runtime.CompilerServices;
using TinkerFlow.Http;
using TinkerFlow.Types;

namespace TinkerFlow;

/// <summary>
/// Training runs, checkpoints, sessions and samplers: the Tinker REST operations (the Python SDK's <c>RestClient</c>).
/// </summary>
public class RestClient
{
    private readonly TinkerBackend? _backend;

    /// <summary>For mocking.</summary>
    protected RestClient()
    {
    }

    internal RestClient(TinkerBackend backend) => _backend = backend;

    private TinkerBackend Backend => _backend ?? throw new InvalidOperationException("This RestClient was created for mocking.");

    /// <summary>Gets a training run by id.</summary>
    /// <param name="trainingRunId">The run (model) id.</param>
    /// <param name="accessScope">Whether published runs of other users are visible.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run.</returns>
    public virtual Task<TrainingRun> GetTrainingRunAsync(string trainingRunId, AccessScope accessScope = AccessScope.Owned, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(trainingRunId);
        return Backend.GetTrainingRunAsync(trainingRunId, accessScope, cancellationToken);
    }

    /// <summary>Gets the training run a tinker:// (or logits://) path belongs to.</summary>
    /// <param name="tinkerPath">A checkpoint path, e.g. <c>tinker://run-1/weights/step-10</c>.</param>
    /// <param name="accessScope">Owned (the SDK's default), or accessible to also find published runs of other users.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run.</returns>
    public virtual Task<TrainingRun> GetTrainingRunByTinkerPathAsync(string tinkerPath, AccessScope accessScope = AccessScope.Owned, CancellationToken cancellationToken = default) =>
        Backend.GetTrainingRunAsync(ParsedCheckpointTinkerPath.FromTinkerPath(tinkerPath).TrainingRunId, accessScope, cancellationToken);

    /// <summary>Lists training runs, newest first, one page at a time.</summary>
    /// <param name="limit">Page size (1–1000).</param>
    /// <param name="offset">Runs to skip.</param>
    /// <param name="accessScope">Whether published runs of other users are included.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page and its cursor.</returns>
    public virtual Task<TrainingRunsResponse> ListTrainingRunsAsync(int limit = 20, int offset = 0, AccessScope accessScope = AccessScope.Owned, CancellationToken cancellationToken = default)
    {
        ValidatePage(limit, offset);
        return Backend.ListTrainingRunsAsync(limit, offset, accessScope, cancellationToken);
    }

    /// <summary>Describes the weights behind a tinker:// path: base model and LoRA settings.</summary>
    /// <param name="tinkerPath">A checkpoint path.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The weights info.</returns>
    public virtual Task<WeightsInfoResponse> GetWeightsInfoByTinkerPathAsync(string tinkerPath, CancellationToken cancellationToken = default)
    {
        _ = ParsedCheckpointTinkerPath.FromTinkerPath(tinkerPath);
        return Backend.GetWeightsInfoAsync(new WeightsInfoRequest { TinkerPath = tinkerPath }, cancellationToken);
    }

    /// <summary>Lists the checkpoints of one training run.</summary>
    /// <param name="trainingRunId">The run id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The checkpoints.</returns>
    public virtual Task<CheckpointsListResponse> ListCheckpointsAsync(string trainingRunId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(trainingRunId);
        return Backend.ListCheckpointsAsync(trainingRunId, cancellationToken);
    }

    /// <summary>Lists all of the caller's checkpoints, newest first, one page at a time.</summary>
    /// <param name="limit">Page size (1–1000).</param>
    /// <param name="offset">Checkpoints to skip (take it from the previous page's <see cref="Cursor"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page and its cursor.</returns>
    public virtual Task<CheckpointsListResponse> ListUserCheckpointsAsync(int limit = 100, int offset = 0, CancellationToken cancellationToken = default)
    {
        ValidatePage(limit, offset);
        return Backend.ListUserCheckpointsAsync(limit, offset, cancellationToken);
    }

    /// <summary>Streams all of the caller's checkpoints, fetching pages as needed.</summary>
    /// <param name="pageSize">Checkpoints per request.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>Every checkpoint, newest first.</returns>
    public virtual async IAsyncEnumerable<Checkpoint> ListAllUserCheckpointsAsync(int pageSize = 100, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ValidatePage(pageSize, 0);
        var offset = 0;
        while (true)
        {
            var page = await Backend.ListUserCheckpointsAsync(pageSize, offset, cancellationToken).ConfigureAwait(false);
            foreach (var checkpoint in page.Checkpoints)
            {
                yield return checkpoint;
            }

            offset += page.Checkpoints.Count;
            if (page.Checkpoints.Count == 0 || page.Cursor is null || offset >= page.Cursor.TotalCount)
            {
                yield break;
            }
        }
    }

    /// <summary>Returns a signed, expiring URL of a checkpoint's tar.gz archive.</summary>
    /// <param name="trainingRunId">The run id.</param>
    /// <param name="checkpointId">The checkpoint id: <c>weights/&lt;name&gt;</c> or <c>sampler_weights/&lt;name&gt;</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The URL and its expiry.</returns>
    public virtual Task<CheckpointArchiveUrlResponse> GetCheckpointArchiveUrlAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default)
    {
        var p = ParseIds(trainingRunId, checkpointId);
        return Backend.GetCheckpointArchiveUrlAsync(p.TrainingRunId, p.CheckpointId, cancellationToken);
    }

    /// <summary>Returns a signed, expiring URL of the archive of the checkpoint at a tinker:// path.</summary>
    /// <param name="tinkerPath">The checkpoint path.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The URL and its expiry.</returns>
    public virtual Task<CheckpointArchiveUrlResponse> GetCheckpointArchiveUrlFromTinkerPathAsync(string tinkerPath, CancellationToken cancellationToken = default)
    {
        var p = ParsedCheckpointTinkerPath.FromTinkerPath(tinkerPath);
        return Backend.GetCheckpointArchiveUrlAsync(p.TrainingRunId, p.CheckpointId, cancellationToken);
    }

    /// <summary>
    /// Downloads the tar.gz archive of the checkpoint at a tinker:// path into a folder and, by default, extracts it
    /// there. Works with <c>file://</c> archive URLs (embedded engine) and http(s) ones (remote services); a partial
    /// download left by a failed or cancelled call is resumed with an HTTP Range request.
    /// </summary>
    /// <param name="tinkerPath">The checkpoint path, e.g. <c>tinker://run-1/weights/step-10</c>.</param>
    /// <param name="destinationDirectory">The folder to download (and extract) into; created if missing.</param>
    /// <param name="progress">Receives the bytes downloaded so far and the total, when known.</param>
    /// <param name="extract">True: extract into <paramref name="destinationDirectory"/> and delete the archive; false: keep the .tar.gz.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The folder the archive was extracted into, or the path of the downloaded .tar.gz when <paramref name="extract"/> is false.</returns>
    /// <exception cref="InvalidDataException">The archive has entries outside the folder (path traversal) or links; nothing is extracted.</exception>
    public virtual async Task<string> DownloadCheckpointArchiveAsync(
        string tinkerPath,
        string destinationDirectory,
        IProgress<ArchiveDownloadProgress>? progress = null,
        bool extract = true,
        CancellationToken cancellationToken = default)
    {
        var p = ParsedCheckpointTinkerPath.FromTinkerPath(tinkerPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(destinationDirectory);
        var archive = await Backend.GetCheckpointArchiveUrlAsync(p.TrainingRunId, p.CheckpointId, cancellationToken).ConfigureAwait(false);
        if (!Uri.TryCreate(archive.Url, UriKind.Absolute, out var url))
        {
            throw new TinkerRequestException($"The backend '{Backend.Name}' returned an archive URL that is not absolute: '{archive.Url}'.", RequestErrorCategory.Server);
        }

        return await ArchiveDownloader.DownloadAsync(
            url,
            destinationDirectory,
            ArchiveDownloader.FileNameFor(p),
            progress,
            extract,
            (Backend as HttpBackend)?.DownloadClient,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a checkpoint.</summary>
    /// <param name="trainingRunId">The run id.</param>
    /// <param name="checkpointId">The checkpoint id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when deleted.</returns>
    public virtual Task DeleteCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default)
    {
        var p = ParseIds(trainingRunId, checkpointId);
        return Backend.DeleteCheckpointAsync(p.TrainingRunId, p.CheckpointId, cancellationToken);
    }

    /// <summary>Makes a checkpoint readable by other users.</summary>
    /// <param name="trainingRunId">The run id.</param>
    /// <param name="checkpointId">The checkpoint id: <c>weights/&lt;name&gt;</c>, <c>sampler_weights/&lt;name&gt;</c> or its tinker:// path.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when published.</returns>
    public virtual Task PublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default)
    {
        var p = ParseIds(trainingRunId, checkpointId);
        return Backend.PublishCheckpointAsync(p.TrainingRunId, p.CheckpointId, cancellationToken);
    }

    /// <summary>Makes a published checkpoint private again.</summary>
    /// <param name="trainingRunId">The run id.</param>
    /// <param name="checkpointId">The checkpoint id: <c>weights/&lt;name&gt;</c>, <c>sampler_weights/&lt;name&gt;</c> or its tinker:// path.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when unpublished.</returns>
    public virtual Task UnpublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default)
    {
        var p = ParseIds(trainingRunId, checkpointId);
        return Backend.UnpublishCheckpointAsync(p.TrainingRunId, p.CheckpointId, cancellationToken);
    }

    /// <summary>Deletes the checkpoint at a tinker:// path.</summary>
    /// <param name="tinkerPath">The checkpoint path.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when deleted.</returns>
    public virtual Task DeleteCheckpointFromTinkerPathAsync(string tinkerPath, CancellationToken cancellationToken = default)
    {
        var p = ParsedCheckpointTinkerPath.FromTinkerPath(tinkerPath);
        return Backend.DeleteCheckpointAsync(p.TrainingRunId, p.CheckpointId, cancellationToken);
    }

    /// <summary>Makes the checkpoint at a tinker:// path readable by other users.</summary>
    /// <param name="tinkerPath">The checkpoint path.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when published.</returns>
    public virtual Task PublishCheckpointFromTinkerPathAsync(string tinkerPath, CancellationToken cancellationToken = default)
    {
        var p = ParsedCheckpointTinkerPath.FromTinkerPath(tinkerPath);
        return Backend.PublishCheckpointAsync(p.TrainingRunId, p.CheckpointId, cancellationToken);
    }

    /// <summary>Makes the published checkpoint at a tinker:// path private again.</summary>
    /// <param name="tinkerPath">The checkpoint path.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when unpublished.</returns>
    public virtual Task UnpublishCheckpointFromTinkerPathAsync(string tinkerPath, CancellationToken cancellationToken = default)
    {
        var p = ParsedCheckpointTinkerPath.FromTinkerPath(tinkerPath);
        return Backend.UnpublishCheckpointAsync(p.TrainingRunId, p.CheckpointId, cancellationToken);
    }

    /// <summary>Sets or removes the time to live of the checkpoint at a tinker:// path.</summary>
    /// <param name="tinkerPath">The checkpoint path.</param>
    /// <param name="ttlSeconds">Seconds from now until it is deleted; null keeps it forever.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when set.</returns>
    public virtual Task SetCheckpointTtlFromTinkerPathAsync(string tinkerPath, long? ttlSeconds, CancellationToken cancellationToken = default)
    {
        var p = ParsedCheckpointTinkerPath.FromTinkerPath(tinkerPath);
        if (ttlSeconds is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ttlSeconds), ttlSeconds, "ttl_seconds must be positive; pass null to remove the expiry.");
        }

        return Backend.SetCheckpointTtlAsync(p.TrainingRunId, p.CheckpointId, ttlSeconds, cancellationToken);
    }

    /// <summary>Lists the caller's session ids.</summary>
    /// <param name="limit">Page size (1–1000).</param>
    /// <param name="offset">Sessions to skip.</param>
    /// <param name="accessScope">Owned (the SDK's default) or accessible.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session ids.</returns>
    public virtual Task<ListSessionsResponse> ListSessionsAsync(int limit = 20, int offset = 0, AccessScope accessScope = AccessScope.Owned, CancellationToken cancellationToken = default)
    {
        ValidatePage(limit, offset);
        return Backend.ListSessionsAsync(limit, offset, accessScope, cancellationToken);
    }

    /// <summary>Gets the training runs and samplers of a session.</summary>
    /// <param name="sessionId">The session id.</param>
    /// <param name="accessScope">Owned (the SDK's default) or accessible.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session's runs and samplers.</returns>
    public virtual Task<GetSessionResponse> GetSessionAsync(string sessionId, AccessScope accessScope = AccessScope.Owned, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sessionId);
        return Backend.GetSessionAsync(sessionId, accessScope, cancellationToken);
    }

    /// <summary>Gets a sampler (sampling session).</summary>
    /// <param name="samplerId">The sampling session id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sampler's base model and weights path.</returns>
    public virtual Task<GetSamplerResponse> GetSamplerAsync(string samplerId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(samplerId);
        return Backend.GetSamplerAsync(samplerId, cancellationToken);
    }

    private static void ValidatePage(int limit, int offset)
    {
        if (limit is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "limit must be between 1 and 1000; page through larger listings with offset.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(offset);
    }

    /// <summary>Accepts a checkpoint id in any form the service returns (see <see cref="ParsedCheckpointTinkerPath.FromCheckpointId"/>).</summary>
    private static ParsedCheckpointTinkerPath ParseIds(string trainingRunId, string checkpointId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(trainingRunId);
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointId);
        return ParsedCheckpointTinkerPath.FromCheckpointId(trainingRunId, checkpointId);
    }
}
