using TinkerFlow.Types;

namespace TinkerFlow;

/// <summary>
/// Samples from an immutable snapshot of weights: a base model, a named sampler checkpoint or an ephemeral snapshot
/// (the Python SDK's <c>SamplingClient</c>).
/// </summary>
/// <remarks>
/// Samples are numbered (<c>seq_id</c> 0, 1, …; a retried sample keeps its number). Transient failures (connection
/// errors, 408/409/410/429/5xx) are retried as a whole according to <see cref="SamplingRetryConfig"/>. When none of the
/// client's samples completes for <see cref="SamplingRetryConfig.ProgressTimeout"/>, the pending ones fail with a
/// <see cref="TinkerRequestException"/> saying the requests appear to be stuck.
/// </remarks>
public class SamplingClient
{
    private readonly ServiceClient? _service;
    private readonly SamplingRetryConfig _retry = new();
    private readonly SemaphoreSlim? _connections;
    private readonly Lock _progressLock = new();
    private int _seqId = -1;
    private int _pending;
    private long _lastProgress;

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

        await _connections!.WaitAsync(cancellationToken).ConfigureAwait(false);
        BackendOperation<SampleResponse> first;
        StartPending();
        try
        {
            first = await Service.Backend.SampleAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (TinkerRequestException ex) when (_retry.EnableRetryLogic && (ex.IsTransient || ex.Status == 410))
        {
            // Refused at submission (e.g. 429: the engine's memory is committed): retried like a failed sample.
            first = new BackendOperation<SampleResponse>($"sample-{request.SeqId}-refused", Task.FromException<SampleResponse>(ex));
        }
        catch
        {
            EndPending(success: false);
            _connections.Release();
            throw;
        }

        var future = new TinkerFuture<SampleResponse>(first.RequestId, CompleteWithRetriesAsync(request, first));
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

    private async Task<SampleResponse> CompleteWithRetriesAsync(SampleRequest request, BackendOperation<SampleResponse> first)
    {
        var success = false;
        try
        {
            var op = first;
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    var response = await WithinProgressTimeoutAsync(op.Result, request).ConfigureAwait(false);
                    success = true;
                    return response;
                }
                catch (TinkerRequestException ex) when (_retry.EnableRetryLogic && (ex.IsTransient || ex.Status == 410) && !IsStuck(ex))
                {
                    // Random.Shared: concurrent retry loops of one client draw their jitter safely.
                    await WithinProgressTimeoutAsync(Task.Delay(_retry.DelayFor(attempt, Random.Shared), Service.Options.TimeProvider).ContinueWith(_ => true, TaskScheduler.Default), request).ConfigureAwait(false);
                    try
                    {
                        op = await Service.Backend.SampleAsync(request).ConfigureAwait(false);
                    }
                    catch (TinkerRequestException again) when (again.IsTransient || again.Status == 410)
                    {
                        op = new BackendOperation<SampleResponse>(op.RequestId, Task.FromException<SampleResponse>(again));
                    }
                }
            }
        }
        finally
        {
            EndPending(success);
            _connections!.Release();
        }
    }

    /// <summary>Waits for <paramref name="work"/>, failing once no sample of this client has completed for the progress timeout.</summary>
    private async Task<T> WithinProgressTimeoutAsync<T>(Task<T> work, SampleRequest request)
    {
        var time = Service.Options.TimeProvider;
        while (!work.IsCompleted)
        {
            long last;
            lock (_progressLock)
            {
                last = _lastProgress;
            }

            var remaining = _retry.ProgressTimeout - time.GetElapsedTime(last);
            if (remaining <= TimeSpan.Zero)
            {
                var message = $"Requests appear to be stuck: no sample of sampling client {SamplingSessionId} has completed for {_retry.ProgressTimeout.TotalSeconds:0.###} s " +
                    $"(SamplingRetryConfig.ProgressTimeout), so sample seq_id {request.SeqId} was abandoned. Check the server, or raise ProgressTimeout.";
                throw new TinkerRequestException(message, RequestErrorCategory.Unknown, innerException: new TimeoutException(message));
            }

            using var cancel = new CancellationTokenSource();
            var timer = Task.Delay(remaining, time, cancel.Token);
            if (await Task.WhenAny(work, timer).ConfigureAwait(false) == work)
            {
                await cancel.CancelAsync().ConfigureAwait(false);
            }
        }

        return await work.ConfigureAwait(false);
    }

    /// <summary>The progress-timeout failure (its inner exception is a <see cref="TimeoutException"/>): never retried.</summary>
    private static bool IsStuck(TinkerRequestException ex) => ex.InnerException is TimeoutException;

    /// <summary>A sample starts: with none pending, the progress clock restarts now.</summary>
    private void StartPending()
    {
        lock (_progressLock)
        {
            if (_pending++ == 0)
            {
                _lastProgress = Service.Options.TimeProvider.GetTimestamp();
            }
        }
    }

    /// <summary>A sample ends; a completed one counts as progress for the others.</summary>
    private void EndPending(bool success)
    {
        lock (_progressLock)
        {
            _pending--;
            if (success)
            {
                _lastProgress = Service.Options.TimeProvider.GetTimestamp();
            }
        }
    }
}
