using Microsoft.Extensions.Time.Testing;
using TinkerFlow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Clients;

public sealed class SamplingClientTests
{
    private static readonly SamplingRetryConfig FastRetry = new() { RetryDelayBase = TimeSpan.Zero, RetryDelayMax = TimeSpan.Zero };

    [Fact]
    public async Task Sample_NumbersRequestsFromZero()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var sampler = await service.CreateSamplingClientAsync(baseModel: "fake/base");

        var a = await sampler.SampleAsync(WaitUntil.Completed, ModelInput.FromInts([1, 2]), 3, new SamplingParams { MaxTokens = 4 });
        await sampler.SampleAsync(WaitUntil.Completed, ModelInput.FromInts([1]), 1, new SamplingParams { MaxTokens = 4 });

        Assert.Equal(3, a.Value.Sequences.Count);
        Assert.Equal([0, 1], backend.RequestsOf<SampleRequest>().Select(r => r.SeqId!.Value));
        Assert.All(backend.RequestsOf<SampleRequest>(), r => Assert.Equal(sampler.SamplingSessionId, r.SamplingSessionId));
    }

    [Fact]
    public async Task Sample_RetriesTransientFailureWithTheSameSeqId()
    {
        var backend = new FakeBackend();
        var inner = backend.SampleHandler;
        backend.SampleHandler = (r, attempt) => attempt == 1
            ? throw new TinkerRequestException("busy", RequestErrorCategory.Server, status: 503)
            : inner(r, attempt);
        await using var service = new ServiceClient(backend);
        var sampler = await service.CreateSamplingClientAsync(baseModel: "fake/base", retryConfig: FastRetry);

        var result = await sampler.SampleAsync(WaitUntil.Completed, ModelInput.FromInts([1, 2]), 1, new SamplingParams { MaxTokens = 2 });

        Assert.Single(result.Value.Sequences);
        Assert.Equal([0, 0], backend.RequestsOf<SampleRequest>().Select(r => r.SeqId!.Value));
    }

    [Fact]
    public async Task Sample_DoesNotRetryUserErrors()
    {
        var backend = new FakeBackend { SampleHandler = (_, _) => throw TinkerRequestException.User("max_tokens too large") };
        await using var service = new ServiceClient(backend);
        var sampler = await service.CreateSamplingClientAsync(baseModel: "fake/base", retryConfig: FastRetry);

        var future = await sampler.SampleAsync(WaitUntil.Started, ModelInput.FromInts([1]), 1, new SamplingParams { MaxTokens = 2 });

        await Assert.ThrowsAsync<TinkerRequestException>(async () => await future);
        Assert.Equal(1, backend.SampleAttempts);
    }

    [Fact]
    public async Task Sample_FailsAsStuckOnceNoSampleCompletesWithinTheProgressTimeout()
    {
        var backend = new FakeBackend { HoldResults = true };
        var time = new FakeTimeProvider();
        await using var service = new ServiceClient(new TinkerClientOptions { Backend = backend, TimeProvider = time });
        var sampler = await service.CreateSamplingClientAsync(baseModel: "fake/base", retryConfig: FastRetry with { ProgressTimeout = TimeSpan.FromSeconds(30) });

        var future = await sampler.SampleAsync(WaitUntil.Started, ModelInput.FromInts([1]), 1, new SamplingParams { MaxTokens = 2 });
        time.Advance(TimeSpan.FromSeconds(29));
        await Task.Delay(50);
        Assert.False(future.HasCompleted);
        time.Advance(TimeSpan.FromSeconds(2));

        var error = await Assert.ThrowsAsync<TinkerRequestException>(async () => await future.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("appear to be stuck", error.Message);
        Assert.Contains("ProgressTimeout", error.Message);
        Assert.Equal(1, backend.SampleAttempts);
    }

    [Fact]
    public async Task Sample_ProgressTimeoutAlsoStopsRetriesOfAFailingSample()
    {
        var backend = new FakeBackend { SampleHandler = (_, _) => throw new TinkerRequestException("busy", RequestErrorCategory.Server, status: 503) };
        var time = new FakeTimeProvider();
        await using var service = new ServiceClient(new TinkerClientOptions { Backend = backend, TimeProvider = time });
        var retry = new SamplingRetryConfig { RetryDelayBase = TimeSpan.FromSeconds(1), RetryDelayMax = TimeSpan.FromSeconds(1), JitterFactor = 0, ProgressTimeout = TimeSpan.FromSeconds(5) };
        var sampler = await service.CreateSamplingClientAsync(baseModel: "fake/base", retryConfig: retry);

        var future = await sampler.SampleAsync(WaitUntil.Started, ModelInput.FromInts([1]), 1, new SamplingParams { MaxTokens = 2 });
        for (var i = 0; i < 20 && !future.HasCompleted; i++)
        {
            await Task.Delay(20);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        var error = await Assert.ThrowsAsync<TinkerRequestException>(async () => await future.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("appear to be stuck", error.Message);
        Assert.InRange(backend.SampleAttempts, 2, 7);
    }

    [Fact]
    public async Task Sample_ConcurrentRetriesAllComplete()
    {
        var backend = new FakeBackend();
        var inner = backend.SampleHandler;
        var failures = new System.Collections.Concurrent.ConcurrentDictionary<long, int>();
        backend.SampleHandler = (r, attempt) => failures.AddOrUpdate(r.SeqId!.Value, 1, (_, n) => n + 1) <= 2
            ? throw new TinkerRequestException("busy", RequestErrorCategory.Server, status: 503)
            : inner(r, attempt);
        await using var service = new ServiceClient(backend);
        var sampler = await service.CreateSamplingClientAsync(baseModel: "fake/base", retryConfig: FastRetry with { JitterFactor = 1 });

        var futures = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => sampler.SampleAsync(WaitUntil.Completed, ModelInput.FromInts([1]), 1, new SamplingParams { MaxTokens = 2 })));

        Assert.All(futures, f => Assert.Single(f.Value.Sequences));
        Assert.Equal(64 * 3, backend.SampleAttempts);
    }

    [Fact]
    public async Task ComputeLogprobs_AsksForPromptLogprobsWithOneToken()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var sampler = await service.CreateSamplingClientAsync(baseModel: "fake/base");

        var logprobs = await sampler.ComputeLogprobsAsync(ModelInput.FromInts([5, 6, 7]));

        Assert.Equal([null, -0.5, -0.5], logprobs);
        var request = Assert.Single(backend.RequestsOf<SampleRequest>());
        Assert.True(request.PromptLogprobs);
        Assert.Equal(1, request.SamplingParams.MaxTokens);
        Assert.Equal(1, request.NumSamples);
    }

    [Fact]
    public async Task Sample_RejectsEmptyPromptBeforeSubmitting()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);
        var sampler = await service.CreateSamplingClientAsync(baseModel: "fake/base");

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => sampler.SampleAsync(WaitUntil.Started, ModelInput.Empty, 1, new SamplingParams()));
        Assert.Contains("prompt is empty", ex.Message);
        Assert.Equal(0, backend.SampleAttempts);
    }

    [Fact]
    public async Task CreateSamplingClient_RequiresPathOrBaseModel()
    {
        await using var service = new ServiceClient(new FakeBackend());

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => service.CreateSamplingClientAsync());
        Assert.Contains("modelPath", ex.Message);
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => service.CreateSamplingClientAsync(modelPath: "/tmp/x"));
        Assert.Contains("tinker://", bad.Message);
    }
}
