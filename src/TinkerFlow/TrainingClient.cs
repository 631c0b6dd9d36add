using TinkerFlow.Internal;
using TinkerFlow.Types;

namespace TinkerFlow;

/// <summary>
/// Trains one LoRA adapter: forward/backward passes, optimizer steps and checkpoints (the Python SDK's
/// <c>TrainingClient</c>).
/// </summary>
/// <remarks>
/// Queued operations take <see cref="WaitUntil"/> first. With <see cref="WaitUntil.Started"/> a call returns once its
/// request is queued, so a loop can submit <see cref="ForwardBackwardAsync"/> and <see cref="OptimStepAsync"/> back
/// to back and await both futures afterwards. Requests are numbered (<c>seq_id</c> 1, 2, …) and submitted strictly in
/// that order even when called from several tasks. Large calls are split into chunks
/// (<see cref="TinkerClientOptions.ChunkMaxDatums"/>, <see cref="TinkerClientOptions.ChunkMaxBytes"/>) whose results are
/// recombined, metrics reduced by their <c>:sum</c>/<c>:mean</c>/<c>:min</c>/<c>:max</c> suffix.
/// </remarks>
public partial class TrainingClient
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly ServiceClient? _service;
    private int _seqId;

    /// <summary>For mocking.</summary>
    protected TrainingClient()
    {
        ModelId = string.Empty;
        BaseModel = string.Empty;
    }

    internal TrainingClient(ServiceClient service, string modelId, string baseModel)
    {
        _service = service;
        ModelId = modelId;
        BaseModel = baseModel;
    }

    /// <summary>The model (training run) id.</summary>
    public virtual string ModelId { get; }

    /// <summary>The base model being adapted.</summary>
    public virtual string BaseModel { get; }

    private ServiceClient Service => _service ?? throw new InvalidOperationException("This TrainingClient was created for mocking.");

    /// <summary>Computes the loss and per-token outputs without gradients (<c>forward</c>).</summary>
    /// <param name="waitUntil">Return when queued, or when the result is ready.</param>
    /// <param name="data">The datums.</param>
    /// <param name="lossFn">A <see cref="LossFnType"/> name, e.g. <c>cross_entropy</c>.</param>
    /// <param name="lossFnConfig">Loss settings, e.g. <c>clip_low_threshold</c> for <c>ppo</c>.</param>
    /// <param name="cancellationToken">Cancels the submission (and the wait, with <see cref="WaitUntil.Completed"/>).</param>
    /// <returns>A future of the combined output.</returns>
    public virtual Task<TinkerFuture<ForwardBackwardOutput>> ForwardAsync(
        WaitUntil waitUntil,
        IReadOnlyList<Datum> data,
        string lossFn,
        IReadOnlyDictionary<string, double>? lossFnConfig = null,
        CancellationToken cancellationToken = default)
    {
        ValidateBatch(data, lossFn);
        return SubmitChunkedAsync(
            waitUntil,
            data,
            (chunk, seq, ct) => Service.Backend.ForwardAsync(
                new ForwardRequest { ForwardInput = new ForwardBackwardInput { Data = chunk, LossFn = lossFn, LossFnConfig = lossFnConfig }, ModelId = ModelId, SeqId = seq },
                ct),
            cancellationToken);
    }

    /// <summary>Computes the loss and accumulates its gradients until the next <see cref="OptimStepAsync"/> (<c>forward_backward</c>).</summary>
    /// <param name="waitUntil">Return when queued, or when the result is ready.</param>
    /// <param name="data">The datums.</param>
    /// <param name="lossFn">A <see cref="LossFnType"/> name, e.g. <c>cross_entropy</c>.</param>
    /// <param name="lossFnConfig">Loss settings, e.g. <c>clip_low_threshold</c> for <c>ppo</c>.</param>
    /// <param name="cancellationToken">Cancels the submission (and the wait, with <see cref="WaitUntil.Completed"/>).</param>
    /// <returns>A future of the combined output: per-datum <c>logprobs</c> and <c>elementwise_loss</c>, metrics such as <c>loss:sum</c>.</returns>
    public virtual Task<TinkerFuture<ForwardBackwardOutput>> ForwardBackwardAsync(
        WaitUntil waitUntil,
        IReadOnlyList<Datum> data,
        string lossFn,
        IReadOnlyDictionary<string, double>? lossFnConfig = null,
        CancellationToken cancellationToken = default)
    {
        ValidateBatch(data, lossFn);
        return SubmitChunkedAsync(
            waitUntil,
            data,
            (chunk, seq, ct) => Service.Backend.ForwardBackwardAsync(
                new ForwardBackwardRequest { ForwardBackwardInput = new ForwardBackwardInput { Data = chunk, LossFn = lossFn, LossFnConfig = lossFnConfig }, ModelId = ModelId, SeqId = seq },
                ct),
            cancellationToken);
    }

    /// <summary>Applies one AdamW step with the accumulated gradients and clears them (<c>optim_step</c>).</summary>
    /// <param name="waitUntil">Return when queued, or when the step is done.</param>
    /// <param name="adamParams">Learning rate, betas, eps, weight decay, gradient clipping.</param>
    /// <param name="cancellationToken">Cancels the submission.</param>
    /// <returns>A future of the optimizer metrics.</returns>
    public virtual Task<TinkerFuture<OptimStepResponse>> OptimStepAsync(WaitUntil waitUntil, AdamParams adamParams, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(adamParams);
        return SubmitAsync(
            waitUntil,
            (seq, ct) => Service.Backend.OptimStepAsync(new OptimStepRequest { AdamParams = adamParams, ModelId = ModelId, SeqId = seq }, ct),
            cancellationToken);
    }

    /// <summary>Returns the model's metadata (<c>get_info</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The model info.</returns>
    public virtual Task<GetInfoResponse> GetInfoAsync(CancellationToken cancellationToken = default) =>
        Service.Backend.GetInfoAsync(new GetInfoRequest { ModelId = ModelId }, cancellationToken);

    /// <summary>
    /// Returns the base model's tokenizer: the one named by <c>model_data.tokenizer_id</c> of <c>get_info</c> (anything
    /// after a ':' dropped), else by the model name.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The tokenizer.</returns>
    public virtual async Task<TinkerTokenizer> GetTokenizerAsync(CancellationToken cancellationToken = default)
    {
        var info = await GetInfoAsync(cancellationToken).ConfigureAwait(false);
        var tokenizerId = info.ModelData.TokenizerId is { Length: > 0 } id ? id.Split(':')[0] : null;
        var name = tokenizerId is { Length: > 0 } ? tokenizerId : info.ModelData.ModelName ?? info.ModelName ?? BaseModel;
        return await Service.Backend.GetTokenizerAsync(name, cancellationToken).ConfigureAwait(false);
    }

    internal async Task<TinkerFuture<T>> SubmitAsync<T>(WaitUntil waitUntil, Func<int, CancellationToken, Task<BackendOperation<T>>> submit, CancellationToken cancellationToken)
    {
        BackendOperation<T> op;
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            op = await submit(++_seqId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _turn.Release();
        }

        var future = new TinkerFuture<T>(op.RequestId, op.Result);
        if (waitUntil == WaitUntil.Completed)
        {
            await future.WaitForCompletionAsync(cancellationToken).ConfigureAwait(false);
        }

        return future;
    }

    private async Task<TinkerFuture<ForwardBackwardOutput>> SubmitChunkedAsync(
        WaitUntil waitUntil,
        IReadOnlyList<Datum> data,
        Func<IReadOnlyList<Datum>, int, CancellationToken, Task<BackendOperation<ForwardBackwardOutput>>> submit,
        CancellationToken cancellationToken)
    {
        var chunks = DatumChunker.Split(data, Service.Options.ChunkMaxDatums, Service.Options.ChunkMaxBytes);
        var ops = new List<BackendOperation<ForwardBackwardOutput>>(chunks.Count);
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var chunk in chunks)
            {
                ops.Add(await submit(chunk, ++_seqId, cancellationToken).ConfigureAwait(false));
            }
        }
        finally
        {
            _turn.Release();
        }

        var future = new TinkerFuture<ForwardBackwardOutput>(string.Join(',', ops.Select(o => o.RequestId)), CombineAsync(ops));
        if (waitUntil == WaitUntil.Completed)
        {
            await future.WaitForCompletionAsync(cancellationToken).ConfigureAwait(false);
        }

        return future;
    }

    private static async Task<ForwardBackwardOutput> CombineAsync(List<BackendOperation<ForwardBackwardOutput>> ops)
    {
        if (ops.Count == 1)
        {
            return await ops[0].Result.ConfigureAwait(false);
        }

        var results = await Task.WhenAll(ops.Select(o => o.Result)).ConfigureAwait(false);
        return ForwardBackwardCombiner.Combine(results);
    }

    private static void ValidateBatch(IReadOnlyList<Datum> data, string lossFn)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0)
        {
            throw new ArgumentException("data is empty: pass at least one Datum.", nameof(data));
        }

        for (var i = 0; i < data.Count; i++)
        {
            if (data[i] is null)
            {
                throw new ArgumentException($"data[{i}] is null.", nameof(data));
            }
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(lossFn);
        if (!LossFnType.IsKnown(lossFn))
        {
            throw new ArgumentException($"Unknown loss_fn '{lossFn}'. Use one of: {string.Join(", ", LossFnType.All)}; for any other loss use ForwardBackwardCustomAsync (in TinkerFlow.Torch).", nameof(lossFn));
        }
    }
}
