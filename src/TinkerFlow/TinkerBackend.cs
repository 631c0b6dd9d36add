using TinkerFlow.Types;

namespace TinkerFlow;

/// <summary>
/// The seam between the TinkerFlow clients and whatever executes Tinker operations: the embedded TorchSharp engine
/// (TinkerFlow.Local) or a remote Tinker-compatible service over HTTP.
/// </summary>
/// <remarks>
/// Methods mirror the wire operations one to one and take the wire request types. Queued operations return a
/// <see cref="BackendOperation{T}"/> as soon as the request is accepted; its task completes with the result.
/// A backend must execute the requests of one model in <c>seq_id</c> order. Failures are reported as
/// <see cref="TinkerRequestException"/>. Clients own sequence numbering and chunking; backends see single requests.
/// </remarks>
public abstract partial class TinkerBackend : IAsyncDisposable
{
    /// <summary>A short human-readable name (e.g. "local" or the base URL), used in messages.</summary>
    public abstract string Name { get; }

    /// <summary>Lists the base models this backend can train and sample (<c>get_server_capabilities</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The supported models.</returns>
    public abstract Task<GetServerCapabilitiesResponse> GetServerCapabilitiesAsync(CancellationToken cancellationToken = default);

    /// <summary>Opens a session (<c>create_session</c>).</summary>
    /// <param name="request">The session request.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new session id and optional messages for the user.</returns>
    public abstract Task<CreateSessionResponse> CreateSessionAsync(CreateSessionRequest request, CancellationToken cancellationToken = default);

    /// <summary>Keeps a session alive (<c>session_heartbeat</c>).</summary>
    /// <param name="request">The heartbeat.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the heartbeat was accepted.</returns>
    public abstract Task SessionHeartbeatAsync(SessionHeartbeatRequest request, CancellationToken cancellationToken = default);

    /// <summary>Queues the creation of a LoRA training model (<c>create_model</c>).</summary>
    /// <param name="request">The model request.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>The queued operation.</returns>
    public abstract Task<BackendOperation<CreateModelResponse>> CreateModelAsync(CreateModelRequest request, CancellationToken cancellationToken = default);

    /// <summary>Returns a model's metadata (<c>get_info</c>).</summary>
    /// <param name="request">The model id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The model info.</returns>
    public abstract Task<GetInfoResponse> GetInfoAsync(GetInfoRequest request, CancellationToken cancellationToken = default);

    /// <summary>Queues a forward pass without gradients (<c>forward</c>).</summary>
    /// <param name="request">One chunk of data with its seq id.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>The queued operation.</returns>
    public abstract Task<BackendOperation<ForwardBackwardOutput>> ForwardAsync(ForwardRequest request, CancellationToken cancellationToken = default);

    /// <summary>Queues a forward and backward pass; gradients accumulate until the next optimizer step (<c>forward_backward</c>).</summary>
    /// <param name="request">One chunk of data with its seq id.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>The queued operation.</returns>
    public abstract Task<BackendOperation<ForwardBackwardOutput>> ForwardBackwardAsync(ForwardBackwardRequest request, CancellationToken cancellationToken = default);

    /// <summary>Queues an AdamW step over the accumulated gradients (<c>optim_step</c>).</summary>
    /// <param name="request">The Adam parameters and seq id.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>The queued operation.</returns>
    public abstract Task<BackendOperation<OptimStepResponse>> OptimStepAsync(OptimStepRequest request, CancellationToken cancellationToken = default);

    /// <summary>Queues a save of weights and optimizer state (<c>save_weights</c>).</summary>
    /// <param name="request">The checkpoint name and seq id.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>The queued operation.</returns>
    public abstract Task<BackendOperation<SaveWeightsResponse>> SaveWeightsAsync(SaveWeightsRequest request, CancellationToken cancellationToken = default);

    /// <summary>Queues a save of sampler weights, named or ephemeral (<c>save_weights_for_sampler</c>).</summary>
    /// <param name="request">The name (or sampling session seq id for an ephemeral snapshot) and seq id.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>The queued operation.</returns>
    public abstract Task<BackendOperation<SaveWeightsForSamplerResponse>> SaveWeightsForSamplerAsync(SaveWeightsForSamplerRequest request, CancellationToken cancellationToken = default);

    /// <summary>Queues a load of weights, optionally with optimizer state (<c>load_weights</c>).</summary>
    /// <param name="request">The tinker:// path and seq id.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>The queued operation.</returns>
    public abstract Task<BackendOperation<LoadWeightsResponse>> LoadWeightsAsync(LoadWeightsRequest request, CancellationToken cancellationToken = default);

    /// <summary>Queues the release of a training model (<c>unload_model</c>).</summary>
    /// <param name="request">The model id.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>The queued operation.</returns>
    public abstract Task<BackendOperation<UnloadModelResponse>> UnloadModelAsync(UnloadModelRequest request, CancellationToken cancellationToken = default);

    /// <summary>Creates a sampling session on a base model or a sampler checkpoint (<c>create_sampling_session</c>).</summary>
    /// <param name="request">The base model or tinker:// path.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sampling session id.</returns>
    public abstract Task<CreateSamplingSessionResponse> CreateSamplingSessionAsync(CreateSamplingSessionRequest request, CancellationToken cancellationToken = default);

    /// <summary>Queues a sampling request (<c>asample</c>).</summary>
    /// <param name="request">The prompt, parameters, session and seq id.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>The queued operation.</returns>
    public abstract Task<BackendOperation<SampleResponse>> SampleAsync(SampleRequest request, CancellationToken cancellationToken = default);

    /// <summary>Returns a tokenizer for a base model (client-side in the Python SDK).</summary>
    /// <param name="baseModel">The base model name, e.g. <c>tinkerflow/tiny-qwen3</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The tokenizer.</returns>
    public abstract Task<TinkerTokenizer> GetTokenizerAsync(string baseModel, CancellationToken cancellationToken = default);

    /// <summary>Releases the backend's resources.</summary>
    /// <returns>A task that completes when disposed.</returns>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
