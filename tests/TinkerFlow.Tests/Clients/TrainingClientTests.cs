using TinkerFlow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Clients;

public sealed class TrainingClientTests
{
    private static async Task<(FakeBackend Backend, ServiceClient Service, TrainingClient Client)> CreateAsync(Action<TinkerClientOptions>? configure = null)
    {
        var backend = new FakeBackend();
        var options = new TinkerClientOptions { Backend = backend };
        configure?.Invoke(options);
        var service = new ServiceClient(options);
        var client = await service.CreateLoraTrainingClientAsync("fake/base", rank: 8);
        return (backend, service, client);
    }

    [Fact]
    public async Task CreateLoraTrainingClient_SendsSessionThenCreateModelWithLoraConfig()
    {
        var (backend, service, client) = await CreateAsync();
        await using var _ = service;

        var session = Assert.Single(backend.RequestsOf<CreateSessionRequest>());
        Assert.Equal(ServiceClient.EmulatedSdkVersion, session.SdkVersion);
        var create = Assert.Single(backend.RequestsOf<CreateModelRequest>());
        Assert.Equal(0, create.ModelSeqId);
        Assert.Equal(8, create.LoraConfig!.Rank);
        Assert.Equal("sess-1:train:0", client.ModelId);
    }

    [Fact]
    public async Task SeqIds_StartAtOneAndIncrementPerRequest()
    {
        var (backend, service, client) = await CreateAsync();
        await using var _ = service;

        await client.ForwardBackwardAsync(WaitUntil.Completed, TestData.Batch(2), LossFnType.CrossEntropy);
        await client.OptimStepAsync(WaitUntil.Completed, new AdamParams());
        await client.SaveStateAsync(WaitUntil.Completed, "step-1");
        await client.ForwardAsync(WaitUntil.Completed, TestData.Batch(1), LossFnType.CrossEntropy);

        Assert.Equal(1, backend.RequestsOf<ForwardBackwardRequest>().Single().SeqId);
        Assert.Equal(2, backend.RequestsOf<OptimStepRequest>().Single().SeqId);
        Assert.Equal(3, backend.RequestsOf<SaveWeightsRequest>().Single().SeqId);
        Assert.Equal(4, backend.RequestsOf<ForwardRequest>().Single().SeqId);
    }

    [Fact]
    public async Task ForwardBackwardAndOptimStep_AreBothSubmittedBeforeEitherIsAwaited()
    {
        var (backend, service, client) = await CreateAsync();
        await using var _ = service;
        backend.HoldResults = true;

        var fb = await client.ForwardBackwardAsync(WaitUntil.Started, TestData.Batch(2), LossFnType.CrossEntropy);
        var step = await client.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = 1e-3 });

        Assert.False(fb.HasCompleted);
        Assert.False(step.HasCompleted);
        Assert.Single(backend.RequestsOf<ForwardBackwardRequest>());
        Assert.Single(backend.RequestsOf<OptimStepRequest>());
        var ex = Assert.Throws<InvalidOperationException>(() => fb.Value);
        Assert.Contains("has not completed", ex.Message);

        backend.ReleaseAll();
        var output = await fb;
        var metrics = await step;
        Assert.Equal(2, output.LossFnOutputs.Count);
        Assert.Equal(1.0, metrics.Metrics!["grad_norm:mean"]);
    }

    [Fact]
    public async Task ConcurrentCallers_SubmitInSeqIdOrder()
    {
        var (backend, service, client) = await CreateAsync();
        await using var _ = service;

        var tasks = Enumerable.Range(0, 20).Select(_ => client.ForwardBackwardAsync(WaitUntil.Started, TestData.Batch(1), LossFnType.CrossEntropy)).ToList();
        await Task.WhenAll(tasks);

        var seqs = backend.RequestsOf<ForwardBackwardRequest>().Select(r => r.SeqId!.Value).ToList();
        Assert.Equal(Enumerable.Range(1, 20), seqs);
    }

    [Fact]
    public async Task ForwardBackward_SplitsAtMaxDatumsAndConsumesOneSeqIdPerChunk()
    {
        var (backend, service, client) = await CreateAsync(o => o.ChunkMaxDatums = 3);
        await using var _ = service;

        var future = await client.ForwardBackwardAsync(WaitUntil.Completed, TestData.Batch(7), LossFnType.CrossEntropy);

        var requests = backend.RequestsOf<ForwardBackwardRequest>();
        Assert.Equal([3, 3, 1], requests.Select(r => r.ForwardBackwardInput.Data.Count));
        Assert.Equal([1, 2, 3], requests.Select(r => r.SeqId!.Value));
        Assert.Equal(7, future.Value.LossFnOutputs.Count);
        Assert.Equal(28, future.Value.Metrics["loss:sum"]);
        Assert.Equal(3, future.Id.Split(',').Length);
    }

    [Fact]
    public async Task ForwardBackward_SplitsWhenEstimatedBytesWouldOverflow()
    {
        // A 4-token datum with two 4-element inputs estimates 10*4 + 10*8 = 120 bytes.
        var (backend, service, client) = await CreateAsync(o => o.ChunkMaxBytes = 250);
        await using var _ = service;

        await client.ForwardBackwardAsync(WaitUntil.Completed, TestData.Batch(5), LossFnType.CrossEntropy);

        Assert.Equal([2, 2, 1], backend.RequestsOf<ForwardBackwardRequest>().Select(r => r.ForwardBackwardInput.Data.Count));
    }

    [Fact]
    public async Task ForwardBackward_KeepsOversizedSingleDatumInItsOwnChunk()
    {
        var (backend, service, client) = await CreateAsync(o => o.ChunkMaxBytes = 10);
        await using var _ = service;

        await client.ForwardBackwardAsync(WaitUntil.Completed, TestData.Batch(2), LossFnType.CrossEntropy);

        Assert.Equal([1, 1], backend.RequestsOf<ForwardBackwardRequest>().Select(r => r.ForwardBackwardInput.Data.Count));
    }

    [Fact]
    public async Task ForwardBackward_RejectsUnknownLossBeforeSubmitting()
    {
        var (backend, service, client) = await CreateAsync();
        await using var _ = service;

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.ForwardBackwardAsync(WaitUntil.Started, TestData.Batch(1), "hinge"));

        Assert.Contains("Unknown loss_fn 'hinge'", ex.Message);
        Assert.Contains("cross_entropy", ex.Message);
        Assert.Empty(backend.RequestsOf<ForwardBackwardRequest>());
    }

    [Fact]
    public async Task ForwardBackward_RejectsEmptyBatch()
    {
        var (_, service, client) = await CreateAsync();
        await using var __ = service;

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.ForwardBackwardAsync(WaitUntil.Started, [], LossFnType.CrossEntropy));
        Assert.Contains("data is empty", ex.Message);
    }

    [Fact]
    public async Task FailedOperation_SurfacesTinkerRequestExceptionOnAwait()
    {
        var (backend, service, client) = await CreateAsync();
        await using var _ = service;
        backend.ForwardBackwardHandler = _ => throw TinkerRequestException.User("target token 999 is outside the vocabulary (size 256)");

        var future = await client.ForwardBackwardAsync(WaitUntil.Started, TestData.Batch(1), LossFnType.CrossEntropy);
        var ex = await Assert.ThrowsAsync<TinkerRequestException>(async () => await future);

        Assert.Equal(RequestErrorCategory.User, ex.Category);
        Assert.Equal(400, ex.Status);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task WaitForCompletionAsync_CancellationStopsWaitingButNotTheOperation()
    {
        var (backend, service, client) = await CreateAsync();
        await using var _ = service;
        backend.HoldResults = true;
        var future = await client.OptimStepAsync(WaitUntil.Started, new AdamParams());
        using var cts = new CancellationTokenSource();
        var wait = future.WaitForCompletionAsync(cts.Token);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
        backend.ReleaseAll();
        Assert.NotNull((await future).Metrics);
    }

    [Fact]
    public async Task WaitForCompletion_ThrowsTimeoutWhenResultIsLate()
    {
        var (backend, service, client) = await CreateAsync();
        await using var _ = service;
        backend.HoldResults = true;
        var future = await client.OptimStepAsync(WaitUntil.Started, new AdamParams());

        Assert.Throws<TimeoutException>(() => future.WaitForCompletion(TimeSpan.FromMilliseconds(1)));
        backend.ReleaseAll();
        Assert.NotNull(future.WaitForCompletion(TimeSpan.FromSeconds(30)).Metrics);
    }

    [Fact]
    public async Task SaveWeightsAndGetSamplingClient_UsesNextSamplingSessionSeqId()
    {
        var (backend, service, client) = await CreateAsync();
        await using var _ = service;

        var first = await client.SaveWeightsAndGetSamplingClientAsync();
        var second = await service.CreateSamplingClientAsync(baseModel: "fake/base");

        var save = Assert.Single(backend.RequestsOf<SaveWeightsForSamplerRequest>());
        Assert.Null(save.Path);
        Assert.Equal(0, save.SamplingSessionSeqId);
        Assert.Equal("sess-1:sample:0", first.SamplingSessionId);
        Assert.Equal(1, backend.RequestsOf<CreateSamplingSessionRequest>().Single().SamplingSessionSeqId);
        Assert.Equal("sess-1:sample:1", second.SamplingSessionId);
    }

    [Fact]
    public async Task SaveState_RejectsPathTraversalNames()
    {
        var (_, service, client) = await CreateAsync();
        await using var __ = service;

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.SaveStateAsync(WaitUntil.Started, "../evil"));
        Assert.Contains("Invalid checkpoint name", ex.Message);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.SaveStateAsync(WaitUntil.Started, "ok", ttlSeconds: 0));
    }

    [Fact]
    public async Task LoadState_RejectsSamplerPaths()
    {
        var (_, service, client) = await CreateAsync();
        await using var __ = service;

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.LoadStateAsync(WaitUntil.Started, "tinker://run/sampler_weights/s1"));
        Assert.Contains("sampler checkpoint", ex.Message);
    }

    [Fact]
    public async Task CreateTrainingClientFromStateWithOptimizer_CopiesLoraSettingsAndLoadsOptimizer()
    {
        var backend = new FakeBackend();
        await using var service = new ServiceClient(backend);

        var client = await service.CreateTrainingClientFromStateWithOptimizerAsync("tinker://run-1/weights/step-5");

        var create = Assert.Single(backend.RequestsOf<CreateModelRequest>());
        Assert.Equal("fake/base", create.BaseModel);
        Assert.Equal(8, create.LoraConfig!.Rank);
        Assert.False(create.LoraConfig.TrainAttn);
        var load = Assert.Single(backend.RequestsOf<LoadWeightsRequest>());
        Assert.True(load.Optimizer);
        Assert.Equal(1, load.SeqId);
        Assert.Equal(client.ModelId, load.ModelId);
    }

    [Fact]
    public async Task GetTokenizer_ResolvesTheModelName()
    {
        var (_, service, client) = await CreateAsync();
        await using var __ = service;

        var tokenizer = await client.GetTokenizerAsync();

        Assert.Equal("fake/base", tokenizer.Name);
        Assert.Equal("hi", tokenizer.Decode(tokenizer.Encode("hi")));
    }

    [Fact]
    public async Task GetTokenizer_PrefersTheTokenizerIdWithoutItsRevision()
    {
        var (backend, service, client) = await CreateAsync();
        await using var __ = service;
        backend.InfoTokenizerId = "org/tokenizer:rev-1";

        var tokenizer = await client.GetTokenizerAsync();

        Assert.Equal("org/tokenizer", tokenizer.Name);
    }
}
