using System.Reflection;
using Microsoft.Extensions.Logging;
using TinkerFlow.Types;

namespace TinkerFlow;

/// <summary>
/// The entry point of TinkerFlow: opens a session on a backend and creates training, sampling and REST clients
/// (the Python SDK's <c>ServiceClient</c>).
/// </summary>
/// <remarks>
/// <c>new ServiceClient()</c> uses the embedded engine (TinkerFlow.Local) unless <c>TINKER_BASE_URL</c> is set.
/// The session is opened lazily by the first training or sampling client and kept alive by a heartbeat.
/// </remarks>
public class ServiceClient : IAsyncDisposable
{
    /// <summary>The Python SDK wire level this client emulates (sent as <c>sdk_version</c>).</summary>
    public const string EmulatedSdkVersion = "0.24.1";

    private readonly SemaphoreSlim _sessionLock = new(1, 1);
    private readonly CancellationTokenSource _disposed = new();
    private readonly bool _ownsBackend;
    private string? _sessionId;
    private int _modelSeqId = -1;
    private int _samplingSessionSeqId = -1;
    private Task? _heartbeatLoop;

    /// <summary>Creates a client with default options: the embedded engine, or <c>TINKER_BASE_URL</c> when set.</summary>
    public ServiceClient()
        : this(new TinkerClientOptions())
    {
    }

    /// <summary>Creates a client over an explicit backend.</summary>
    /// <param name="backend">The backend, e.g. a <c>LocalBackend</c>.</param>
    public ServiceClient(TinkerBackend backend)
        : this(new TinkerClientOptions { Backend = backend ?? throw new ArgumentNullException(nameof(backend)) })
    {
    }

    /// <summary>Creates a client with the given options (frozen from now on).</summary>
    /// <param name="options">The options.</param>
    public ServiceClient(TinkerClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Freeze();
        Options = options;
        (Backend, _ownsBackend) = ResolveBackend(options);
    }

    /// <summary>The options this client was built with.</summary>
    public TinkerClientOptions Options { get; }

    /// <summary>The backend that executes the operations.</summary>
    public TinkerBackend Backend { get; }

    /// <summary>The session id, once a training or sampling client has been created.</summary>
    public string? SessionId => _sessionId;

    /// <summary>Lists the base models the backend offers.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The supported models.</returns>
    public virtual Task<GetServerCapabilitiesResponse> GetServerCapabilitiesAsync(CancellationToken cancellationToken = default) =>
        Backend.GetServerCapabilitiesAsync(cancellationToken);

    /// <summary>Creates a LoRA training client on a base model.</summary>
    /// <param name="baseModel">The base model, e.g. <c>tinkerflow/tiny-qwen3</c> (see <see cref="GetServerCapabilitiesAsync"/>).</param>
    /// <param name="rank">LoRA rank.</param>
    /// <param name="seed">Seed of the adapter initialisation; null lets the backend choose.</param>
    /// <param name="trainMlp">Adapt the MLP projections (gate/up/down).</param>
    /// <param name="trainAttn">Adapt the attention projections (q/k/v/o).</param>
    /// <param name="trainUnembed">Adapt the LM head.</param>
    /// <param name="userMetadata">Metadata stored with the training run.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The training client.</returns>
    public virtual Task<TrainingClient> CreateLoraTrainingClientAsync(
        string baseModel,
        int rank = 32,
        int? seed = null,
        bool trainMlp = true,
        bool trainAttn = true,
        bool trainUnembed = true,
        IReadOnlyDictionary<string, string>? userMetadata = null,
        CancellationToken cancellationToken = default) =>
        CreateLoraTrainingClientAsync(
            baseModel,
            new LoraConfig { Rank = rank, Seed = seed, TrainMlp = trainMlp, TrainAttn = trainAttn, TrainUnembed = trainUnembed },
            userMetadata,
            cancellationToken);

    /// <summary>Creates a LoRA training client on a base model from a <see cref="LoraConfig"/> (the wire <c>lora_config</c>).</summary>
    /// <param name="baseModel">The base model name.</param>
    /// <param name="loraConfig">Rank, seed and which layers to adapt.</param>
    /// <param name="userMetadata">Metadata stored with the training run.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The training client.</returns>
    public virtual async Task<TrainingClient> CreateLoraTrainingClientAsync(
        string baseModel,
        LoraConfig loraConfig,
        IReadOnlyDictionary<string, string>? userMetadata = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(baseModel);
        ArgumentNullException.ThrowIfNull(loraConfig);
        var lora = loraConfig;
        var sessionId = await EnsureSessionAsync(cancellationToken).ConfigureAwait(false);
        var request = new CreateModelRequest
        {
            SessionId = sessionId,
            ModelSeqId = Interlocked.Increment(ref _modelSeqId),
            BaseModel = baseModel,
            UserMetadata = userMetadata,
            LoraConfig = lora,
        };
        var op = await Backend.CreateModelAsync(request, cancellationToken).ConfigureAwait(false);
        var created = await op.Result.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new TrainingClient(this, created.ModelId, baseModel);
    }

    /// <summary>Creates a training client from a saved training checkpoint, with a fresh optimizer.</summary>
    /// <param name="path">A <c>tinker://&lt;run&gt;/weights/&lt;name&gt;</c> path from <see cref="TrainingClient.SaveStateAsync"/>.</param>
    /// <param name="userMetadata">Metadata stored with the new training run.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The training client.</returns>
    public virtual Task<TrainingClient> CreateTrainingClientFromStateAsync(string path, IReadOnlyDictionary<string, string>? userMetadata = null, CancellationToken cancellationToken = default) =>
        CreateFromStateAsync(path, optimizer: false, userMetadata, cancellationToken);

    /// <summary>Creates a training client from a saved training checkpoint, restoring the optimizer state too.</summary>
    /// <param name="path">A <c>tinker://&lt;run&gt;/weights/&lt;name&gt;</c> path from <see cref="TrainingClient.SaveStateAsync"/>.</param>
    /// <param name="userMetadata">Metadata stored with the new training run.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The training client.</returns>
    public virtual Task<TrainingClient> CreateTrainingClientFromStateWithOptimizerAsync(string path, IReadOnlyDictionary<string, string>? userMetadata = null, CancellationToken cancellationToken = default) =>
        CreateFromStateAsync(path, optimizer: true, userMetadata, cancellationToken);

    /// <summary>Creates a sampling client on sampler weights or on a base model.</summary>
    /// <param name="modelPath">A <c>tinker://&lt;run&gt;/sampler_weights/&lt;name&gt;</c> path; or null to sample the base model.</param>
    /// <param name="baseModel">The base model, when <paramref name="modelPath"/> is null.</param>
    /// <param name="retryConfig">How whole samples are retried; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sampling client.</returns>
    public virtual async Task<SamplingClient> CreateSamplingClientAsync(
        string? modelPath = null,
        string? baseModel = null,
        SamplingRetryConfig? retryConfig = null,
        CancellationToken cancellationToken = default)
    {
        if (modelPath is null && baseModel is null)
        {
            throw new ArgumentException("Pass modelPath (a tinker://<run>/sampler_weights/<name> path) or baseModel (e.g. \"tinkerflow/tiny-qwen3\").", nameof(modelPath));
        }

        if (modelPath is not null && !ParsedCheckpointTinkerPath.IsCheckpointPath(modelPath))
        {
            throw new ArgumentException($"modelPath must start with tinker:// (or logits://), got '{modelPath}'. Use the path returned by SaveWeightsForSamplerAsync.", nameof(modelPath));
        }

        retryConfig ??= new SamplingRetryConfig();
        retryConfig.Validate();
        var sessionId = await EnsureSessionAsync(cancellationToken).ConfigureAwait(false);
        var response = await Backend.CreateSamplingSessionAsync(
            new CreateSamplingSessionRequest
            {
                SessionId = sessionId,
                SamplingSessionSeqId = NextSamplingSessionSeqId(),
                BaseModel = baseModel,
                ModelPath = modelPath,
            },
            cancellationToken).ConfigureAwait(false);
        return new SamplingClient(this, response.SamplingSessionId, retryConfig);
    }

    /// <summary>Creates a client for the REST operations (runs, checkpoints, sessions).</summary>
    /// <returns>The REST client.</returns>
    public virtual RestClient CreateRestClient() => new(Backend);

    /// <summary>Stops the heartbeat and releases a backend this client created.</summary>
    /// <returns>A task that completes when disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        if (_heartbeatLoop is not null)
        {
            await _heartbeatLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_ownsBackend)
        {
            await Backend.DisposeAsync().ConfigureAwait(false);
        }

        _disposed.Dispose();
        _sessionLock.Dispose();
        GC.SuppressFinalize(this);
    }

    internal int NextSamplingSessionSeqId() => Interlocked.Increment(ref _samplingSessionSeqId);

    internal async Task<string> EnsureSessionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        if (_sessionId is { } existing)
        {
            return existing;
        }

        await _sessionLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_sessionId is { } raced)
            {
                return raced;
            }

            var response = await Backend.CreateSessionAsync(
                new CreateSessionRequest
                {
                    Tags = Options.Tags,
                    UserMetadata = Options.SessionMetadata ?? new Dictionary<string, string>(),
                    SdkVersion = EmulatedSdkVersion,
                    ProjectId = Options.ProjectId,
                },
                cancellationToken).ConfigureAwait(false);
            _sessionId = response.SessionId;
            LogSessionMessages(response);
            _heartbeatLoop = HeartbeatLoopAsync(response.SessionId, _disposed.Token);
            return response.SessionId;
        }
        finally
        {
            _sessionLock.Release();
        }
    }

    private void LogSessionMessages(CreateSessionResponse response)
    {
        if (Options.LoggerFactory is not { } factory)
        {
            return;
        }

        var logger = factory.CreateLogger("TinkerFlow.ServiceClient");
        if (response.InfoMessage is { Length: > 0 } info)
        {
            logger.LogInformation("{Message}", info);
        }

        if (response.WarningMessage is { Length: > 0 } warning)
        {
            logger.LogWarning("{Message}", warning);
        }

        if (response.ErrorMessage is { Length: > 0 } error)
        {
            logger.LogError("{Message}", error);
        }
    }

    private async Task HeartbeatLoopAsync(string sessionId, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Options.HeartbeatInterval, Options.TimeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await Backend.SessionHeartbeatAsync(new SessionHeartbeatRequest { SessionId = sessionId }, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Heartbeat failures are ignored, as in the Python SDK; the next tick tries again.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<TrainingClient> CreateFromStateAsync(string path, bool optimizer, IReadOnlyDictionary<string, string>? userMetadata, CancellationToken cancellationToken)
    {
        var parsed = ParsedCheckpointTinkerPath.FromTinkerPath(path);
        if (parsed.CheckpointType != CheckpointType.Training)
        {
            throw new ArgumentException($"'{path}' is a sampler checkpoint; training state is loaded from tinker://<run>/weights/<name> paths written by SaveStateAsync.", nameof(path));
        }

        var info = await Backend.GetWeightsInfoAsync(new WeightsInfoRequest { TinkerPath = path }, cancellationToken).ConfigureAwait(false);
        var client = await CreateLoraTrainingClientAsync(
            info.BaseModel,
            rank: info.LoraRank ?? 32,
            trainMlp: info.TrainMlp ?? true,
            trainAttn: info.TrainAttn ?? true,
            trainUnembed: info.TrainUnembed ?? true,
            userMetadata: userMetadata,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        var loaded = optimizer
            ? await client.LoadStateWithOptimizerAsync(WaitUntil.Completed, path, cancellationToken).ConfigureAwait(false)
            : await client.LoadStateAsync(WaitUntil.Completed, path, cancellationToken).ConfigureAwait(false);
        _ = loaded.Value;
        return client;
    }

    private static (TinkerBackend Backend, bool Owned) ResolveBackend(TinkerClientOptions options)
    {
        if (options.Backend is { } explicitBackend)
        {
            return (explicitBackend, false);
        }

        if (options.BaseUrl is { } baseUrl)
        {
            return (HttpBackendFactory.Create(baseUrl, options), true);
        }

        // The embedded engine lives in TinkerFlow.Local, which the core SDK must not reference: find it at run time.
        var type = Type.GetType("TinkerFlow.Local.LocalBackend, TinkerFlow.Local", throwOnError: false);
        var shared = type?.GetProperty("Shared", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as TinkerBackend;
        return shared is not null
            ? (shared, false)
            : throw new InvalidOperationException(
                "No Tinker backend is configured. Reference the TinkerFlow.Local package to train in-process with the embedded engine, " +
                "or set TinkerClientOptions.BaseUrl (or the TINKER_BASE_URL environment variable) to use a Tinker service.");
    }
}
