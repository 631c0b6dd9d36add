using System.Collections.Concurrent;
using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Limits;
using TinkerFlow.Local.Storage;
using TinkerFlow.Local.Training;
using TinkerFlow.Torch.Native;
using TinkerFlow.Types;

namespace TinkerFlow.Local;

/// <summary>
/// The embedded TinkerFlow engine: a TorchSharp decoder transformer with LoRA adapters that implements every Tinker
/// operation in-process — training, sampling, checkpoints and the REST queries — with data under
/// <see cref="LocalBackendOptions.HomeDirectory"/>. <see cref="Shared"/> is the default backend of <see cref="ServiceClient"/>
/// (see <see cref="RegisterAsDefault"/>).
/// </summary>
/// <remarks>
/// One frozen base model is shared by all training clients and samplers on it. A training client's requests run in
/// seq order on a thread of their own; samplers run concurrently on immutable adapter snapshots. All methods are safe
/// to call from many tasks at once. Bad input fails with a <see cref="TinkerRequestException"/> of category
/// <see cref="RequestErrorCategory.User"/> and leaves no state changed.
/// </remarks>
public sealed partial class LocalBackend : TinkerBackend
{
    private static readonly Lazy<LocalBackend> s_shared = new(() => new LocalBackend(new LocalBackendOptions()));

    private readonly ConcurrentDictionary<string, TrainingModel> _models = new();
    private readonly ConcurrentDictionary<string, SamplerState> _samplers = new();
    private readonly ConcurrentDictionary<BaseModel, Lazy<Sampling.ContinuousBatcher>> _batchers;
    private readonly bool _isView;
    private int _disposed;

    /// <summary>Creates an engine with the given options.</summary>
    /// <param name="options">Data directory, extra models, concurrency; null for the defaults.</param>
    public LocalBackend(LocalBackendOptions? options = null)
        : this(options ?? new LocalBackendOptions(), store: null)
    {
    }

    /// <summary>Creates an engine whose metadata lives in <paramref name="store"/> (null: JSON files under the home directory).</summary>
    internal LocalBackend(LocalBackendOptions options, RunStore? store)
    {
        Options = options;
        if (Options.MaxConcurrentSamples < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.MaxConcurrentSamples, "MaxConcurrentSamples must be at least 1.");
        }
        if (Options.MaxSampleKvBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.MaxSampleKvBytes, "MaxSampleKvBytes must be at least 1.");
        }
        if (Options.MaxWaitingSamples < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.MaxWaitingSamples, "MaxWaitingSamples must be at least 1.");
        }

        Options.Limits.Validate();
        _ledger = new MemoryLedger(() => Options.Limits);

        NativeSetup.EnsureInitialized();
        Store = store ?? new LocalStore(Options.HomeDirectory, Options.TimeProvider);
        Models = new BaseModelRegistry(Store.Home, Options.ModelDirectories);
        _batchers = new(ReferenceEqualityComparer.Instance);
    }

    /// <summary>A view of <paramref name="root"/> acting for <paramref name="owner"/>: same models, samplers and store.</summary>
    private LocalBackend(LocalBackend root, string owner)
    {
        Options = new LocalBackendOptions
        {
            HomeDirectory = root.Options.HomeDirectory,
            ModelDirectories = root.Options.ModelDirectories,
            Owner = owner,
            MaxConcurrentSamples = root.Options.MaxConcurrentSamples,
            MaxSampleKvBytes = root.Options.MaxSampleKvBytes,
            MaxWaitingSamples = root.Options.MaxWaitingSamples,
            MaxTokensPerMicroBatch = root.Options.MaxTokensPerMicroBatch,
            ActivationCheckpointing = root.Options.ActivationCheckpointing,
            ActivationMemoryBudgetBytes = root.Options.ActivationMemoryBudgetBytes,
            SeqGapGrace = root.Options.SeqGapGrace,
            TimeProvider = root.Options.TimeProvider,
            Limits = root.Options.Limits,
        };
        Store = root.Store;
        Models = root.Models;
        _models = root._models;
        _samplers = root._samplers;
        _ledger = root._ledger;
        _held = root._held;
        _batchers = root._batchers;
        _isView = true;
    }

    /// <summary>The process-wide engine used by <c>new ServiceClient()</c> (data in <c>TINKERFLOW_HOME</c> or <c>~/.tinkerflow</c>).</summary>
    public static LocalBackend Shared => s_shared.Value;

    /// <summary>
    /// Makes <see cref="Shared"/> the <see cref="DefaultBackend"/> of <c>new ServiceClient()</c>, and installs the loader
    /// that lets TorchSharp's native library load where the system's libstdc++ is older than the one it was built with
    /// (Debian 12). Idempotent.
    /// </summary>
    /// <remarks>
    /// C# projects that reference TinkerFlow.Local never need to call this: the package's build targets add a module
    /// initializer that calls it when the project's assembly loads (opt out with the MSBuild property
    /// <c>TinkerFlowRegisterEmbeddedEngine=false</c>). Call it yourself in other languages, after opting out, or before
    /// using TorchSharp from an assembly that does not reference TinkerFlow.Local.
    /// </remarks>
    public static void RegisterAsDefault()
    {
        TorchNativeLibrary.EnsureInstalled();
        DefaultBackend.Register(static () => Shared);
    }

    /// <summary>The engine's settings.</summary>
    public LocalBackendOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => $"local ({Store.Home})";

    internal RunStore Store { get; }

    internal BaseModelRegistry Models { get; }

    /// <inheritdoc/>
    public override Task<GetServerCapabilitiesResponse> GetServerCapabilitiesAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new GetServerCapabilitiesResponse
        {
            SupportedModels = Models.Names.Select(n => new SupportedModel { ModelName = n, MaxContextLength = TryContext(n) }).ToList(),
        });

    /// <inheritdoc/>
    public override Task<CreateSessionResponse> CreateSessionAsync(CreateSessionRequest request, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            AdmitSession();
            var session = Store.CreateSession(Options.Owner, request);
            return new CreateSessionResponse { SessionId = session.SessionId };
        });

    /// <inheritdoc/>
    public override Task SessionHeartbeatAsync(SessionHeartbeatRequest request, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            Store.Heartbeat(request.SessionId, Options.Owner);
            return true;
        });

    /// <inheritdoc/>
    public override Task<TinkerTokenizer> GetTokenizerAsync(string baseModel, CancellationToken cancellationToken = default) =>
        Sync<TinkerTokenizer>(() => Models.GetTokenizer(baseModel));

    /// <summary>Writes a trained adapter merged into its base model as a Hugging Face model folder.</summary>
    /// <param name="tinkerPath">A training or sampler checkpoint path.</param>
    /// <param name="directory">The output folder (config.json, model.safetensors, tokenizer files).</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <returns>A task that completes when written.</returns>
    public Task ExportMergedAsync(string tinkerPath, string directory, CancellationToken cancellationToken = default) =>
        Task.Run(() => Guard(() => CheckpointIo.ExportMerged(this, tinkerPath, directory), "export"), cancellationToken);

    /// <summary>Copies a checkpoint's adapter in PEFT layout (adapter_model.safetensors + adapter_config.json) to a folder.</summary>
    /// <param name="tinkerPath">A training or sampler checkpoint path.</param>
    /// <param name="directory">The output folder.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <returns>A task that completes when written.</returns>
    public Task ExportPeftAsync(string tinkerPath, string directory, CancellationToken cancellationToken = default) =>
        Task.Run(() => Guard(() => CheckpointIo.ExportPeft(this, tinkerPath, directory), "export"), cancellationToken);

    /// <inheritdoc/>
    /// <remarks>A per-owner view (<see cref="ForOwner"/>) disposes nothing: the engine it shares does.</remarks>
    public override ValueTask DisposeAsync()
    {
        if (!_isView && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Every loop that runs on the tensors stops (waiting for its current step) before anything is freed: a
            // tensor freed under a running step is a native use-after-free that kills the process. A loop that does not
            // stop in time keeps its tensors (the garbage collector frees them after it), and so do the base models.
            bool allStopped = true;
            foreach (var model in _models.Values)
            {
                allStopped &= model.Dispose(OrderedExecutor.StopTimeout);
            }

            foreach (var batcher in _batchers.Values.Where(b => b.IsValueCreated))
            {
                allStopped &= batcher.Value.Stop(OrderedExecutor.StopTimeout);
            }

            if (allStopped)
            {
                foreach (var sampler in _samplers.Values)
                {
                    sampler.Dispose();
                }
            }

            _models.Clear();
            _samplers.Clear();
            foreach (var id in _held.Keys)
            {
                Release(id);
            }

            _batchers.Clear();
            if (allStopped)
            {
                Models.Dispose();
            }
        }

        return base.DisposeAsync();
    }

    /// <summary>
    /// A backend acting for another user on this engine: the same base models, training models, samplers and store,
    /// with <paramref name="owner"/> owning what it creates and seeing only what that user may see.
    /// </summary>
    internal LocalBackend ForOwner(string owner)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        return new LocalBackend(_isView ? throw new InvalidOperationException("ForOwner needs the engine itself, not a view.") : this, owner);
    }

    /// <summary>Sessions that have training models or samplers in memory.</summary>
    internal IReadOnlyCollection<string> LoadedSessionIds =>
        _models.Values.Select(m => m.SessionId).Concat(_samplers.Keys.Select(SessionOfSampler)).OfType<string>().ToHashSet();

    /// <summary>
    /// Frees the in-memory training models and samplers of a session (e.g. one that stopped heartbeating). Its runs,
    /// samplers and checkpoints stay in the store; a client continues from a checkpoint.
    /// </summary>
    /// <returns>How many models and samplers were released.</returns>
    internal int ReleaseSession(string sessionId)
    {
        var released = 0;
        foreach (var model in _models.Values.Where(m => m.SessionId == sessionId).ToList())
        {
            if (_models.TryRemove(model.ModelId, out _))
            {
                // Let queued work finish first, then free the tensors on the executor's own thread order.
                _ = model.Executor.Enqueue<bool>(null, () => true).ContinueWith(
                    _ =>
                    {
                        model.Dispose();
                        Release(model.ModelId);
                    },
                    TaskScheduler.Default);
                released++;
            }
        }

        foreach (var samplerId in _samplers.Keys.Where(id => SessionOfSampler(id) == sessionId).ToList())
        {
            // A sample may still be running on the snapshot: drop the reference and let the finalizers free it.
            if (_samplers.TryRemove(samplerId, out _))
            {
                Release(samplerId);
                released++;
            }
        }

        return released;
    }

    private static string? SessionOfSampler(string samplerId)
    {
        var at = samplerId.IndexOf(":sample:", StringComparison.Ordinal);
        return at > 0 ? samplerId[..at] : null;
    }

    private int? TryContext(string name)
    {
        try
        {
            return Models.Get(name).Config.MaxPositionEmbeddings;
        }
        catch (TinkerRequestException)
        {
            return null;
        }
    }

    private static string NewRequestId() => $"req-{Guid.NewGuid():N}";

    private static BackendOperation<T> Queued<T>(string requestId, Task<T> task) => new(requestId, task);

    private static Task<T> Sync<T>(Func<T> work)
    {
        try
        {
            return Task.FromResult(Guard(work, requestId: null));
        }
        catch (Exception ex)
        {
            return Task.FromException<T>(ex);
        }
    }

    /// <summary>Maps engine exceptions onto the Tinker error categories.</summary>
    internal static T Guard<T>(Func<T> work, string? requestId)
    {
        try
        {
            return work();
        }
        catch (TinkerRequestException)
        {
            throw;
        }
        catch (TinkerUserInputException ex)
        {
            throw new TinkerRequestException(ex.Message, RequestErrorCategory.User, status: 400, requestId: requestId, innerException: ex);
        }
        catch (ArgumentException ex)
        {
            throw new TinkerRequestException(ex.Message, RequestErrorCategory.User, status: 400, requestId: requestId, innerException: ex);
        }
        catch (InvalidDataException ex)
        {
            throw new TinkerRequestException(ex.Message, RequestErrorCategory.User, status: 400, requestId: requestId, innerException: ex);
        }
        catch (Exception ex)
        {
            throw new TinkerRequestException($"The embedded engine failed: {ex.Message}", RequestErrorCategory.Server, status: 500, requestId: requestId, innerException: ex);
        }
    }

    private TrainingModel GetModel(string? modelId)
    {
        if (modelId is not null && _models.TryGetValue(modelId, out var model) && model.Owner == Options.Owner)
        {
            return model;
        }

        throw new TinkerRequestException(
            $"Training model '{modelId}' is not loaded in this engine (unknown id, unloaded, or the process restarted). " +
            "Continue a saved run with ServiceClient.CreateTrainingClientFromStateAsync(\"tinker://…/weights/<name>\").",
            RequestErrorCategory.User,
            status: 404);
    }
}
