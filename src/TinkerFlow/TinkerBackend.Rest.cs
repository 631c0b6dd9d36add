using TinkerFlow.Types;

namespace TinkerFlow;

public abstract partial class TinkerBackend
{
    /// <summary>Describes the weights behind a tinker:// path (<c>weights_info</c>).</summary>
    /// <param name="request">The path.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Base model and LoRA settings.</returns>
    public abstract Task<WeightsInfoResponse> GetWeightsInfoAsync(WeightsInfoRequest request, CancellationToken cancellationToken = default);

    /// <summary>Gets one training run.</summary>
    /// <param name="trainingRunId">The run (model) id.</param>
    /// <param name="accessScope">Whether published runs of others are visible.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run.</returns>
    public abstract Task<TrainingRun> GetTrainingRunAsync(string trainingRunId, AccessScope accessScope, CancellationToken cancellationToken = default);

    /// <summary>Lists training runs, newest first.</summary>
    /// <param name="limit">Page size.</param>
    /// <param name="offset">Items to skip.</param>
    /// <param name="accessScope">Whether published runs of others are included.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One page and its cursor.</returns>
    public abstract Task<TrainingRunsResponse> ListTrainingRunsAsync(int limit, int offset, AccessScope accessScope, CancellationToken cancellationToken = default);

    /// <summary>Lists the checkpoints of one run.</summary>
    /// <param name="trainingRunId">The run id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The checkpoints.</returns>
    public abstract Task<CheckpointsListResponse> ListCheckpointsAsync(string trainingRunId, CancellationToken cancellationToken = default);

    /// <summary>Lists all of the caller's checkpoints, newest first.</summary>
    /// <param name="limit">Page size.</param>
    /// <param name="offset">Items to skip.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One page and its cursor.</returns>
    public abstract Task<CheckpointsListResponse> ListUserCheckpointsAsync(int limit, int offset, CancellationToken cancellationToken = default);

    /// <summary>Returns a (signed, expiring) URL from which a checkpoint archive (tar.gz) can be downloaded.</summary>
    /// <param name="trainingRunId">The run id.</param>
    /// <param name="checkpointId">The checkpoint id, <c>weights/&lt;name&gt;</c> or <c>sampler_weights/&lt;name&gt;</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The URL and its expiry.</returns>
    public abstract Task<CheckpointArchiveUrlResponse> GetCheckpointArchiveUrlAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default);

    /// <summary>Deletes a checkpoint.</summary>
    /// <param name="trainingRunId">The run id.</param>
    /// <param name="checkpointId">The checkpoint id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when deleted.</returns>
    public abstract Task DeleteCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default);

    /// <summary>Makes a checkpoint readable by other users.</summary>
    /// <param name="trainingRunId">The run id.</param>
    /// <param name="checkpointId">The checkpoint id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when published.</returns>
    public abstract Task PublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default);

    /// <summary>Makes a published checkpoint private again.</summary>
    /// <param name="trainingRunId">The run id.</param>
    /// <param name="checkpointId">The checkpoint id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when unpublished.</returns>
    public abstract Task UnpublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default);

    /// <summary>Sets or removes a checkpoint's time to live.</summary>
    /// <param name="trainingRunId">The run id.</param>
    /// <param name="checkpointId">The checkpoint id.</param>
    /// <param name="ttlSeconds">Seconds from now until expiry, or null to keep it forever.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when set.</returns>
    public abstract Task SetCheckpointTtlAsync(string trainingRunId, string checkpointId, long? ttlSeconds, CancellationToken cancellationToken = default);

    /// <summary>Lists the caller's session ids.</summary>
    /// <param name="limit">Page size.</param>
    /// <param name="offset">Items to skip.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session ids.</returns>
    public abstract Task<ListSessionsResponse> ListSessionsAsync(int limit, int offset, CancellationToken cancellationToken = default);

    /// <summary>Gets the training runs and samplers of one session.</summary>
    /// <param name="sessionId">The session id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session's runs and samplers.</returns>
    public abstract Task<GetSessionResponse> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists session ids in an access scope (wire <c>access_scope</c>). The default calls
    /// <see cref="ListSessionsAsync(int, int, CancellationToken)"/>: sessions are never shared between users, so on a
    /// backend that scopes them to the caller both scopes list the same; remote backends send the scope.
    /// </summary>
    /// <param name="limit">Page size.</param>
    /// <param name="offset">Items to skip.</param>
    /// <param name="accessScope">Owned (the SDK's default) or accessible.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session ids.</returns>
    public virtual Task<ListSessionsResponse> ListSessionsAsync(int limit, int offset, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        ListSessionsAsync(limit, offset, cancellationToken);

    /// <summary>
    /// Gets one session's training runs and samplers in an access scope (wire <c>access_scope</c>). The default calls
    /// <see cref="GetSessionAsync(string, CancellationToken)"/> (see <see cref="ListSessionsAsync(int, int, AccessScope, CancellationToken)"/>).
    /// </summary>
    /// <param name="sessionId">The session id.</param>
    /// <param name="accessScope">Owned (the SDK's default) or accessible.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session's runs and samplers.</returns>
    public virtual Task<GetSessionResponse> GetSessionAsync(string sessionId, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        GetSessionAsync(sessionId, cancellationToken);

    /// <summary>Gets one sampler (sampling session).</summary>
    /// <param name="samplerId">The sampling session id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sampler's base model and weights path.</returns>
    public abstract Task<GetSamplerResponse> GetSamplerAsync(string samplerId, CancellationToken cancellationToken = default);
}
