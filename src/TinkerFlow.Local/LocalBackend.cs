using System.Collections.Concurrent;
using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Storage;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;

namespace TinkerFlow.Local;

/// <summary>
/// The embedded TinkerFlow engine: a TorchSharp decoder transformer with LoRA adapters that implements every Tinker
/// operation in-process — training, sampling, checkpoints and the REST queries — with data under
/// <see cref="LocalBackendOptions.HomeDirectory"/>. It is the default backend of <see cref="ServiceClient"/>.
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
    private readonly SemaphoreSlim _sampleSlots;
    private int _disposed;

    /// <summary>Creates an engine with the given options.</summary>
    /// <param name="options">Data directory, extra models, concurrency; null for the defaults.</param>
    public LocalBackend(LocalBackendOptions? options = null)
    {
        Options = options ?? new LocalBackendOptions();
        if (Options.MaxConcurrentSamples < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.MaxConcurrentSamples, "MaxConcurrentSamples must be at least 1.");
        }

        NativeSetup.EnsureInitialized();
        Store = new LocalStore(Options.HomeDirectory, Options.TimeProvider);
        Models = new BaseModelRegistry(Store.Home, Options.ModelDirectories);
        _sampleSlots = new SemaphoreSlim(Options.MaxConcurrentSamples, Options.MaxConcurrentSamples);
    }

    /// <summary>The process-wide engine used by <c>new ServiceClient()</c> (data in <c>TINKERFLOW_HOME</c> or <c>~/.tinkerflow</c>).</summary>
    public static LocalBackend Shared => s_shared.Value;

    /// <summary>The engine's settings.</summary>
    public LocalBackendOptions Options { get; }

    /// <inheritdoc/>
    public override string Name => $"local ({Store.Home})";

    internal LocalStore Store { get; }

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
        Sync<TinkerTokenizer>(() => Models.Get(baseModel).Tokenizer);

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
    public override ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            foreach (var model in _models.Values)
            {
                model.Dispose();
            }

            foreach (var sampler in _samplers.Values)
            {
                sampler.Dispose();
            }

            _models.Clear();
            _samplers.Clear();
            Models.Dispose();
        }

        return base.DisposeAsync();
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
