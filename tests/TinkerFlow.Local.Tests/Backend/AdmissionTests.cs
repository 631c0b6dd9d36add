using TinkerFlow.Local.Limits;
using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Model;
using TinkerFlow.Local.Tests.Model;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Tests.Backend;

/// <summary>Admission control of the embedded engine: estimates match what it allocates, and a refusal leaves nothing reserved.</summary>
[Collection("Torch")]
public sealed class AdmissionTests : IAsyncLifetime
{
    private const string Model = "tinkerflow/tiny-qwen3";
    private readonly TempHome _home = new();
    private LocalBackend _backend = null!;

    public Task InitializeAsync()
    {
        _backend = Create(new ResourceLimits());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _backend.DisposeAsync();
        _home.Dispose();
    }

    [Theory]
    [InlineData(1, true, true, true)]
    [InlineData(4, true, false, false)]
    [InlineData(8, false, true, false)]
    [InlineData(3, false, false, true)]
    [InlineData(16, true, true, false)]
    public void MemoryEstimator_CountsExactlyTheParametersOfTheAdapterItDescribes(int rank, bool attn, bool mlp, bool unembed)
    {
        foreach (var config in new[] { TinyModels.Qwen3(), TinyModels.Llama(tied: false) })
        {
            using var model = TinyModels.Build(config);
            using var adapter = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = rank, TargetModules = LoraAdapterOptions.Targets(attn, mlp, unembed) });

            Assert.Equal(adapter.ParameterCount, MemoryEstimator.LoraParameterCount(config, rank, attn, mlp, unembed));
            Assert.Equal(adapter.ParameterCount * 4 * 4, MemoryEstimator.TrainingStateBytes(config, rank, attn, mlp, unembed));
        }
    }

    [Fact]
    public void MemoryEstimator_SampleBytesGrowWithSamplesAndTokensAndNeverOverflow()
    {
        var config = TinyModels.Qwen3();
        var one = MemoryEstimator.SampleBytes(config, 1, 10, 10, promptLogprobs: false);
        var kvPerPosition = 2L * config.NumHiddenLayers * config.NumKeyValueHeads * config.HeadDim * 4;
        Assert.True(MemoryEstimator.SampleBytes(config, 8, 10, 10, false) - one >= 7 * 20 * kvPerPosition);
        Assert.True(MemoryEstimator.SampleBytes(config, 1, 10, 1000, false) - one >= 990 * kvPerPosition);
        Assert.Equal(long.MaxValue, MemoryEstimator.SampleBytes(config, int.MaxValue, int.MaxValue, int.MaxValue, true));
        Assert.True(TrainingMemoryEstimate.ForwardBackwardBytes(config, 4, [2048], 16_384, true, ActivationCheckpointing.Never, 0)
            > TrainingMemoryEstimate.ForwardBackwardBytes(config, 4, [1024], 16_384, true, ActivationCheckpointing.Never, 0));
    }

    [Fact]
    public void ResourceLimits_DefaultsDeriveFromTheMachinesMemory()
    {
        var limits = new ResourceLimits();
        Assert.Equal(ResourceLimits.MachineMemoryBytes / 2, limits.EffectiveMemoryBudgetBytes);
        Assert.Equal(limits.EffectiveMemoryBudgetBytes / 4, limits.EffectiveUserMemoryBudgetBytes);
        Assert.Equal(limits.EffectiveMemoryBudgetBytes / 8, limits.EffectiveMaxSampleBytes);
        var set = new ResourceLimits { MemoryBudgetBytes = 800 };
        Assert.Equal(200, set.EffectiveUserMemoryBudgetBytes);
        Assert.Equal(100, set.EffectiveMaxSampleBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ResourceLimits { MaxLoraRank = 0 }.Validate());
    }

    [Theory]
    [InlineData(1_000_000)]
    [InlineData(65_536)]
    [InlineData(129)]
    public async Task CreateModel_RankAboveTheModelsMaximum_IsRefusedBeforeAnythingIsAllocated(int rank)
    {
        var session = await Session();

        var error = await Assert.ThrowsAsync<TinkerRequestException>(() => CreateModel(session, 0, rank));

        Assert.Equal(400, error.Status);
        Assert.Equal(RequestErrorCategory.User, error.Category);
        Assert.Contains($"lora_config.rank {rank}", error.Message);
        Assert.Contains("maximum of 128", error.Message);
        Assert.Contains("--max-lora-rank", error.Message);
        Assert.Equal(0, _backend.ReservedMemoryBytes);
        Assert.Empty(_backend.LoadedSessionIds);
    }

    [Fact]
    public async Task CreateModel_ReservesItsTrainingStateAndUnloadReleasesIt()
    {
        var session = await Session();
        var modelId = await (await _backend.CreateModelAsync(new CreateModelRequest { SessionId = session, ModelSeqId = 0, BaseModel = Model, LoraConfig = new LoraConfig { Rank = 8 } })).Result;
        var config = _backend.Models.Get(Model).Config;
        Assert.Equal(MemoryEstimator.TrainingStateBytes(config, 8, true, true, true), _backend.ReservedMemoryBytes);

        var sampler = await (await _backend.SaveWeightsForSamplerAsync(new SaveWeightsForSamplerRequest { ModelId = modelId.ModelId, SamplingSessionSeqId = 1 })).Result;
        Assert.Equal(MemoryEstimator.TrainingStateBytes(config, 8, true, true, true) + MemoryEstimator.AdapterBytes(config, 8, true, true, true), _backend.ReservedMemoryBytes);
        Assert.NotNull(sampler.SamplingSessionId);

        await (await _backend.UnloadModelAsync(new UnloadModelRequest { ModelId = modelId.ModelId })).Result;
        Assert.Equal(MemoryEstimator.AdapterBytes(config, 8, true, true, true), _backend.ReservedMemoryBytes);
        _backend.ReleaseSession(session);
        Assert.Equal(0, _backend.ReservedMemoryBytes);
    }

    [Fact]
    public async Task CreateModel_OverTheUserBudgetIs429WhileOthersHoldIt_And400WhenItCanNeverFit()
    {
        var config = _backend.Models.Get(Model).Config;
        var rank4 = MemoryEstimator.TrainingStateBytes(config, 4, true, true, true);
        await using var backend = Create(new ResourceLimits { MemoryBudgetBytes = rank4 * 10, UserMemoryBudgetBytes = rank4 + (rank4 / 2) });
        var session = await Session(backend);
        await CreateModel(session, 0, 4, backend);

        var busy = await Assert.ThrowsAsync<TinkerRequestException>(() => CreateModel(session, 1, 4, backend));
        var never = await Assert.ThrowsAsync<TinkerRequestException>(() => CreateModel(session, 2, 8, backend));

        Assert.Equal(429, busy.Status);
        Assert.Contains("per-user memory budget", busy.Message);
        Assert.Contains("--user-memory-budget", busy.Message);
        Assert.Equal(400, never.Status);
        Assert.Equal(rank4, backend.ReservedMemoryBytes);
    }

    [Fact]
    public async Task Sample_AboveThePerRequestLimitIs400_AndTheReservationEndsWithTheSample()
    {
        var session = await Session();
        var sampler = await _backend.CreateSamplingSessionAsync(new CreateSamplingSessionRequest { SessionId = session, SamplingSessionSeqId = 0, BaseModel = Model });
        var config = _backend.Models.Get(Model).Config;
        await using var small = Create(new ResourceLimits { MaxSampleBytes = MemoryEstimator.SampleBytes(config, 4, 3, 8, false) });
        var smallSession = await Session(small);
        var smallSampler = await small.CreateSamplingSessionAsync(new CreateSamplingSessionRequest { SessionId = smallSession, SamplingSessionSeqId = 0, BaseModel = Model });

        var error = await Assert.ThrowsAsync<TinkerRequestException>(() => small.SampleAsync(Sample(smallSampler.SamplingSessionId, 64, 8)));
        var fits = await (await small.SampleAsync(Sample(smallSampler.SamplingSessionId, 4, 8))).Result;
        var big = await (await _backend.SampleAsync(Sample(sampler.SamplingSessionId, 64, 8))).Result;

        Assert.Equal(400, error.Status);
        Assert.Contains("num_samples 64", error.Message);
        Assert.Contains("--max-sample-bytes", error.Message);
        Assert.Equal(4, fits.Sequences.Count);
        Assert.Equal(64, big.Sequences.Count);
        Assert.Equal(0, small.ReservedMemoryBytes);
        Assert.Equal(0, _backend.ReservedMemoryBytes);
    }

    [Fact]
    public async Task Sample_OnAnAdapter_AlsoReservesTheAdaptersCopyInTheDecodeBatch()
    {
        var config = _backend.Models.Get(Model).Config;
        long adapter = MemoryEstimator.AdapterBytes(config, 8, true, true, true);
        long kv = MemoryEstimator.SampleBytes(config, 4, 3, 8, false);
        // Room for the training client, its sampler's snapshot and the sample's KV cache, but not for another adapter copy.
        await using var backend = Create(new ResourceLimits { UserMemoryBudgetBytes = MemoryEstimator.TrainingStateBytes(config, 8, true, true, true) + adapter + kv + (adapter / 2) });
        var session = await Session(backend);
        var model = await (await backend.CreateModelAsync(new CreateModelRequest { SessionId = session, ModelSeqId = 0, BaseModel = Model, LoraConfig = new LoraConfig { Rank = 8 } })).Result;
        var tuned = await (await backend.SaveWeightsForSamplerAsync(new SaveWeightsForSamplerRequest { ModelId = model.ModelId, SamplingSessionSeqId = 1 })).Result;
        var plain = await backend.CreateSamplingSessionAsync(new CreateSamplingSessionRequest { SessionId = session, SamplingSessionSeqId = 2, BaseModel = Model });
        long held = backend.ReservedMemoryBytes;

        var refused = await Assert.ThrowsAsync<TinkerRequestException>(() => backend.SampleAsync(Sample(tuned.SamplingSessionId!, 4, 8)));
        var onBase = await (await backend.SampleAsync(Sample(plain.SamplingSessionId, 4, 8))).Result;

        Assert.Equal(429, refused.Status);
        Assert.Contains("for its adapter's copy in the decode batch", refused.Message);
        Assert.Equal(4, onBase.Sequences.Count);
        Assert.Equal(held, backend.ReservedMemoryBytes);
    }

    [Fact]
    public async Task CountsPerUser_AreRefusedWith429()
    {
        await using var backend = Create(new ResourceLimits { MaxSessionsPerUser = 1, MaxModelsPerUser = 1, MaxSamplersPerUser = 1 });
        var session = await Session(backend);
        await CreateModel(session, 0, 4, backend);
        await backend.CreateSamplingSessionAsync(new CreateSamplingSessionRequest { SessionId = session, SamplingSessionSeqId = 1, BaseModel = Model });

        var sessions = await Assert.ThrowsAsync<TinkerRequestException>(() => Session(backend));
        var models = await Assert.ThrowsAsync<TinkerRequestException>(() => CreateModel(session, 1, 4, backend));
        var samplers = await Assert.ThrowsAsync<TinkerRequestException>(() => backend.CreateSamplingSessionAsync(new CreateSamplingSessionRequest { SessionId = session, SamplingSessionSeqId = 2, BaseModel = Model }));

        Assert.All(new[] { sessions, models, samplers }, e => Assert.Equal(429, e.Status));
        Assert.Contains("--max-sessions-per-user", sessions.Message);
        Assert.Contains("--max-models-per-user", models.Message);
        Assert.Contains("--max-samplers-per-user", samplers.Message);
    }

    [Fact]
    public async Task ForwardBackward_WithMoreTokensThanTheLimit_IsRefused()
    {
        await using var backend = Create(new ResourceLimits { MaxForwardBackwardTokens = 3 });
        var session = await Session(backend);
        var modelId = await CreateModel(session, 0, 4, backend);
        var datum = Datum.Create(ModelInput.FromInts([1, 2, 3, 4]), new Dictionary<string, object> { ["target_tokens"] = new[] { 2, 3, 4, 5 }, ["weights"] = new[] { 1f, 1f, 1f, 1f } });

        var error = await Assert.ThrowsAsync<TinkerRequestException>(() => backend.ForwardBackwardAsync(new ForwardBackwardRequest
        {
            ModelId = modelId,
            ForwardBackwardInput = new ForwardBackwardInput { Data = [datum], LossFn = LossFnType.CrossEntropy },
        }));

        Assert.Equal(400, error.Status);
        Assert.Contains("4 model-input tokens", error.Message);
        Assert.Contains("--max-forward-backward-tokens", error.Message);
    }

    [Fact]
    public async Task ForwardBackward_WhoseMicroBatchActivationsExceedTheUserBudget_IsRefused()
    {
        var config = _backend.Models.Get(Model).Config;
        var rank4 = MemoryEstimator.TrainingStateBytes(config, 4, true, true, true);
        await using var backend = Create(new ResourceLimits { UserMemoryBudgetBytes = rank4 + ForwardBytes(config, 4, [64]) });
        var session = await Session(backend);
        var modelId = await CreateModel(session, 0, 4, backend);
        var tokens = Enumerable.Range(1, 100).ToArray();
        var datum = Datum.Create(ModelInput.FromInts(tokens), new Dictionary<string, object> { ["target_tokens"] = tokens, ["weights"] = tokens.Select(_ => 1f).ToArray() });

        var error = await Assert.ThrowsAsync<TinkerRequestException>(() => backend.ForwardAsync(new ForwardRequest
        {
            ModelId = modelId,
            ForwardInput = new ForwardBackwardInput { Data = [datum, datum], LossFn = LossFnType.CrossEntropy },
        }));

        Assert.Equal(400, error.Status);
        Assert.Contains("200 padded tokens", error.Message);
        Assert.Contains("--user-memory-budget", error.Message);
        Assert.Equal(rank4, backend.ReservedMemoryBytes);
    }

    /// <summary>The engine's estimate of a forward pass over datums of <paramref name="lengths"/>, with default settings.</summary>
    private static long ForwardBytes(TransformerConfig config, int rank, int[] lengths)
    {
        var options = new LocalBackendOptions();
        return TrainingMemoryEstimate.ForwardBackwardBytes(config, rank, lengths, options.MaxTokensPerMicroBatch, false, options.ActivationCheckpointing, options.ActivationMemoryBudgetBytes);
    }

    private static SampleRequest Sample(string samplerId, int n, int maxTokens) => new()
    {
        SamplingSessionId = samplerId,
        NumSamples = n,
        Prompt = ModelInput.FromInts([1, 2, 3]),
        SamplingParams = new SamplingParams { MaxTokens = maxTokens, Seed = 1 },
    };

    private LocalBackend Create(ResourceLimits limits) =>
        new(new LocalBackendOptions { HomeDirectory = _home.Path, ModelDirectories = new Dictionary<string, string>(), Limits = limits });

    private async Task<string> Session(LocalBackend? backend = null) =>
        (await (backend ?? _backend).CreateSessionAsync(new CreateSessionRequest { SdkVersion = "0.18.2" })).SessionId;

    private async Task<string> CreateModel(string session, int seq, int rank, LocalBackend? backend = null)
    {
        var op = await (backend ?? _backend).CreateModelAsync(new CreateModelRequest { SessionId = session, ModelSeqId = seq, BaseModel = Model, LoraConfig = new LoraConfig { Rank = rank } });
        return (await op.Result).ModelId;
    }
}
