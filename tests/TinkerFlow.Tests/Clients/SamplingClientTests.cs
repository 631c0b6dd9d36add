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
