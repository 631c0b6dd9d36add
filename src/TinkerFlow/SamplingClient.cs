using TinkerFlow.Diagnostics;
using TinkerFlow.Types;

namespace TinkerFlow;

/// <summary>
/// Samples from an immutable snapshot of weights: a base model, a named sampler checkpoint or an ephemeral snapshot
/// (the Python SDK's <c>SamplingClient</c>).
/// </summary>
/// <remarks>
/// Samples are numbered (<c>seq_id</c> 0, 1, …; a retried sample keeps its number). Transient failures (connection
/// errors, 408/409/410/429/5xx) are retried as a whole according to <see cref="SamplingRetryConfig"/>.
/// </remarks>
public class SamplingClient
{
    private readonly ServiceClient? _service;
    private readonly SamplingRetryConfig _retry = new();
    private readonly SemaphoreSlim? _connections;
    private readonly Random _jitter = new();
    private int _seqId = -1;

    /// <summary>For mocking.</summary>
    protected SamplingClient()
    {
        SamplingSessionId = string.Empty;
    }

    internal SamplingClient(ServiceClient service, string samplingSessionId, SamplingRetryConfig retry)
    {
        _service = service;
        SamplingSessionId = samplingSessionId;
        _retry = retry;
        _connections = new SemaphoreSlim(retry.MaxConnections, retry.MaxConnections);
    }

    /// <summary>The sampling session (sampler) id.</summary>
    public virtual string SamplingSessionId { get; }

    private ServiceClient Service => _service ?? throw new InvalidOperationException("This SamplingClient was created for mocking.");

    /// <summary>Samples completions of a prompt (<c>asample</c>).</summary>
    /// <param name="waitUntil">Return when queued, or when the samples are ready.</param>
    /// <param name="prompt">The prompt tokens.</param>
    /// <param name="numSamples">How many completions; all are decoded together.</param>
    /// <param name="samplingParams">Max tokens, temperature, top-k/top-p, stop sequences, seed.</param>
    /// <param name="includePromptLogprobs">Also return the log-probability of every prompt token (null for the first).</param>
    /// <param name="topkPromptLogprobs">Also return the top-k alternatives at every prompt position (0 = none).</param>
    /// <param name="cancellationToken">Cancels the submission (and the wait, with <see cref="WaitUntil.Completed"/>).</param>
    /// <returns>A future of the sampled sequences.</returns>
    public virtual async Task<TinkerFuture<SampleResponse>> SampleAsync(
        WaitUntil waitUntil,
        ModelInput prompt,
        int numSamples,
        SamplingParams samplingParams,
        bool includePromptLogprobs = false,
        int topkPromptLogprobs = 0,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(samplingParams);
        if (prompt.Length == 0)
        {
            throw new ArgumentException("prompt is empty: sampling needs at least one prompt token.", nameof(prompt));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(numSamples, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(topkPromptLogprobs);
        var request = new SampleRequest
        {
            NumSamples = numSamples,
            Prompt = prompt,
            SamplingParams = samplingParams,
            SamplingSessionId = SamplingSessionId,
            SeqId = Interlocked.Increment(ref _seqId),
            PromptLogprobs = includePromptLogprobs,
            TopkPromptLogprobs = topkPromptLogprobs,
        };

        var trace = OperationTrace.Start("sample", samplingSessionId: SamplingSessionId);
        BackendOperation<SampleResponse> first;
        try
        {
            await _connections!.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                first = await Service.Backend.SampleAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _connections.Release();
                throw;
            }
        }
        catch (Exception ex)
        {
            trace.Fail(ex);
            throw;
        }

        trace.Submitted(request.SeqId ?? 0, [first]);
        var future = new TinkerFuture<SampleResponse>(first.RequestId, trace.EndWhenDone(CountTokensAsync(trace, prompt.Length * (long)numSamples, CompleteWithRetriesAsync(request, first))));
        if (waitUntil == WaitUntil.Completed)
        {
            await future.WaitForCompletionAsync(cancellationToken).ConfigureAwait(false);
        }

        return future;
    }

    /// <summary>Returns the log-probability of every prompt token under these weights (null for the first token).</summary>
    /// <param name="prompt">The token sequence to score.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One entry per prompt token.</returns>
    public virtual async Task<IReadOnlyList<double?>> ComputeLogprobsAsync(ModelInput prompt, CancellationToken cancellationToken = default)
    {
        var future = await SampleAsync(WaitUntil.Completed, prompt, 1, new SamplingParams { MaxTokens = 1 }, includePromptLogprobs: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        return future.Value.PromptLogprobs
            ?? throw new TinkerRequestException($"The backend '{Service.Backend.Name}' returned no prompt_logprobs.", RequestErrorCategory.Server, requestId: future.Id);
    }

    /// <summary>Returns the sampler's base model and weights path (<c>GET /samplers/{id}</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sampler description.</returns>
    public virtual Task<GetSamplerResponse> GetSamplerInfoAsync(CancellationToken cancellationToken = default) =>
        Service.Backend.GetSamplerAsync(SamplingSessionId, cancellationToken);

    /// <summary>Returns the base model's tokenizer.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The tokenizer.</returns>
    public virtual async Task<TinkerTokenizer> GetTokenizerAsync(CancellationToken cancellationToken = default)
    {
        var info = await GetSamplerInfoAsync(cancellationToken).ConfigureAwait(false);
        return await Service.Backend.GetTokenizerAsync(info.BaseModel, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<SampleResponse> CountTokensAsync(OperationTrace trace, long promptTokens, Task<SampleResponse> result)
    {
        var response = await result.ConfigureAwait(false);
        trace.SetTokens(promptTokens + response.Sequences.Sum(s => (long)s.Tokens.Count));
        return response;
    }

    private async Task<SampleResponse> CompleteWithRetriesAsync(SampleRequest request, BackendOperation<SampleResponse> first)
    {
        try
        {
            var op = first;
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    return await op.Result.ConfigureAwait(false);
                }
                catch (TinkerRequestException ex) when (_retry.EnableRetryLogic && (ex.IsTransient || ex.Status == 410))
                {
                    ClientInstruments.Retry("sample", "sample");
                    await Task.Delay(_retry.DelayFor(attempt, _jitter), Service.Options.TimeProvider).ConfigureAwait(false);
                    op = await Service.Backend.SampleAsync(request).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _connections!.Release();
        }
    }
}
