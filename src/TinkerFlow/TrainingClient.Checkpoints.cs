using TinkerFlow.Types;

namespace TinkerFlow;

public partial class TrainingClient
{
    /// <summary>Saves the adapter weights and optimizer state as a training checkpoint (<c>save_weights</c>).</summary>
    /// <param name="waitUntil">Return when queued, or when saved.</param>
    /// <param name="name">Checkpoint name (letters, digits, <c>-_.</c>); the result path is <c>tinker://&lt;run&gt;/weights/&lt;name&gt;</c>.</param>
    /// <param name="ttlSeconds">Delete the checkpoint after this many seconds; null keeps it.</param>
    /// <param name="overwrite">Replace an existing checkpoint of the same name instead of failing.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>A future of the checkpoint path.</returns>
    public virtual Task<TinkerFuture<SaveWeightsResponse>> SaveStateAsync(WaitUntil waitUntil, string name, long? ttlSeconds = null, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        ValidateName(name);
        ValidateTtl(ttlSeconds);
        return SubmitAsync(
            waitUntil,
            (seq, ct) => Service.Backend.SaveWeightsAsync(new SaveWeightsRequest { ModelId = ModelId, Path = name, SeqId = seq, TtlSeconds = ttlSeconds, Overwrite = overwrite }, ct),
            cancellationToken);
    }

    /// <summary>Loads adapter weights from a training checkpoint, keeping the current optimizer state (<c>load_weights</c>, optimizer false).</summary>
    /// <param name="waitUntil">Return when queued, or when loaded.</param>
    /// <param name="path">A <c>tinker://&lt;run&gt;/weights/&lt;name&gt;</c> path.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>A future of the load result.</returns>
    public virtual Task<TinkerFuture<LoadWeightsResponse>> LoadStateAsync(WaitUntil waitUntil, string path, CancellationToken cancellationToken = default) =>
        LoadAsync(waitUntil, path, optimizer: false, cancellationToken);

    /// <summary>Loads adapter weights and optimizer state from a training checkpoint (<c>load_weights</c>, optimizer true).</summary>
    /// <param name="waitUntil">Return when queued, or when loaded.</param>
    /// <param name="path">A <c>tinker://&lt;run&gt;/weights/&lt;name&gt;</c> path.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>A future of the load result.</returns>
    public virtual Task<TinkerFuture<LoadWeightsResponse>> LoadStateWithOptimizerAsync(WaitUntil waitUntil, string path, CancellationToken cancellationToken = default) =>
        LoadAsync(waitUntil, path, optimizer: true, cancellationToken);

    /// <summary>Saves the adapter for sampling under a name (<c>save_weights_for_sampler</c>).</summary>
    /// <param name="waitUntil">Return when queued, or when saved.</param>
    /// <param name="name">Checkpoint name; the result path is <c>tinker://&lt;run&gt;/sampler_weights/&lt;name&gt;</c>.</param>
    /// <param name="ttlSeconds">Delete the checkpoint after this many seconds; null keeps it.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>A future of the sampler path, for <see cref="ServiceClient.CreateSamplingClientAsync"/>.</returns>
    public virtual Task<TinkerFuture<SaveWeightsForSamplerResponse>> SaveWeightsForSamplerAsync(WaitUntil waitUntil, string name, long? ttlSeconds = null, CancellationToken cancellationToken = default)
    {
        ValidateName(name);
        ValidateTtl(ttlSeconds);
        return SubmitAsync(
            waitUntil,
            (seq, ct) => Service.Backend.SaveWeightsForSamplerAsync(new SaveWeightsForSamplerRequest { ModelId = ModelId, Path = name, SeqId = seq, TtlSeconds = ttlSeconds }, ct),
            cancellationToken);
    }

    /// <summary>Snapshots the current adapter (an ephemeral sampler, no checkpoint) and returns a sampling client on it.</summary>
    /// <param name="retryConfig">How whole samples are retried; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A sampling client on the snapshot; later training does not change it.</returns>
    public virtual async Task<SamplingClient> SaveWeightsAndGetSamplingClientAsync(SamplingRetryConfig? retryConfig = null, CancellationToken cancellationToken = default)
    {
        retryConfig ??= new SamplingRetryConfig();
        retryConfig.Validate();
        await Service.EnsureSessionAsync(cancellationToken).ConfigureAwait(false);
        var samplingSeq = Service.NextSamplingSessionSeqId();
        var future = await SubmitAsync(
            WaitUntil.Completed,
            (seq, ct) => Service.Backend.SaveWeightsForSamplerAsync(new SaveWeightsForSamplerRequest { ModelId = ModelId, SamplingSessionSeqId = samplingSeq, SeqId = seq }, ct),
            cancellationToken).ConfigureAwait(false);
        var id = future.Value.SamplingSessionId
            ?? throw new TinkerRequestException($"The backend '{Service.Backend.Name}' saved ephemeral sampler weights but returned no sampling_session_id.", RequestErrorCategory.Server, requestId: future.Id);
        return new SamplingClient(Service, id, retryConfig);
    }

    /// <summary>
    /// Saves the adapter as named sampler weights (<c>tinker://&lt;run&gt;/sampler_weights/&lt;name&gt;</c>, kept like any
    /// checkpoint) and returns a sampling client on them. The overload without a name takes an ephemeral snapshot instead.
    /// </summary>
    /// <param name="name">The checkpoint name.</param>
    /// <param name="retryConfig">How whole samples are retried; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A sampling client on the saved weights; later training does not change it.</returns>
    public virtual async Task<SamplingClient> SaveWeightsAndGetSamplingClientAsync(string name, SamplingRetryConfig? retryConfig = null, CancellationToken cancellationToken = default)
    {
        var saved = await SaveWeightsForSamplerAsync(WaitUntil.Completed, name, cancellationToken: cancellationToken).ConfigureAwait(false);
        var path = saved.Value.Path
            ?? throw new TinkerRequestException($"The backend '{Service.Backend.Name}' saved sampler weights '{name}' but returned no path.", RequestErrorCategory.Server, requestId: saved.Id);
        return await CreateSamplingClientAsync(path, retryConfig, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates a sampling client on sampler weights, e.g. a path from <see cref="SaveWeightsForSamplerAsync"/>.</summary>
    /// <param name="modelPath">A <c>tinker://&lt;run&gt;/sampler_weights/&lt;name&gt;</c> (or <c>logits://</c>) path.</param>
    /// <param name="retryConfig">How whole samples are retried; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sampling client.</returns>
    public virtual Task<SamplingClient> CreateSamplingClientAsync(string modelPath, SamplingRetryConfig? retryConfig = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        return Service.CreateSamplingClientAsync(modelPath: modelPath, retryConfig: retryConfig, cancellationToken: cancellationToken);
    }

    private Task<TinkerFuture<LoadWeightsResponse>> LoadAsync(WaitUntil waitUntil, string path, bool optimizer, CancellationToken cancellationToken)
    {
        var parsed = ParsedCheckpointTinkerPath.FromTinkerPath(path);
        if (parsed.CheckpointType != CheckpointType.Training)
        {
            throw new ArgumentException($"'{path}' is a sampler checkpoint; load training state from a tinker://<run>/weights/<name> path written by SaveStateAsync.", nameof(path));
        }

        return SubmitAsync(
            waitUntil,
            (seq, ct) => Service.Backend.LoadWeightsAsync(new LoadWeightsRequest { ModelId = ModelId, Path = path, Optimizer = optimizer, SeqId = seq }, ct),
            cancellationToken);
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Length > 128 || name.Contains('/') || name.Contains('\\') || name.Contains("..", StringComparison.Ordinal) || name.Any(char.IsControl))
        {
            throw new ArgumentException($"Invalid checkpoint name '{name}': use up to 128 characters without '/', '\\', '..' or control characters (e.g. \"step-100\").", nameof(name));
        }
    }

    private static void ValidateTtl(long? ttlSeconds)
    {
        if (ttlSeconds is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ttlSeconds), ttlSeconds, "ttl_seconds must be positive; pass null to keep the checkpoint forever.");
        }
    }
}
