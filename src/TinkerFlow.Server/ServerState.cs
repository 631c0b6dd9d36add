using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using TinkerFlow.Local;
using TinkerFlow.Local.BuiltinModels;
using TinkerFlow.Server.Auth;
using TinkerFlow.Server.Dashboard;
using TinkerFlow.Server.Futures;
using TinkerFlow.Server.Http;
using TinkerFlow.Server.Storage;
using TinkerFlow.Types;

namespace TinkerFlow.Server;

/// <summary>
/// Everything one server instance shares: the SQLite store, the single engine (one copy of each base model for all
/// users) with a per-user view of it, the futures and replay tables, the API keys and the archive signer.
/// </summary>
internal sealed class ServerState : IAsyncDisposable
{
    /// <summary>The <see cref="HttpContext.Items"/> key of the authenticated user id.</summary>
    public const string UserItem = "tinkerflow.user";

    private readonly ConcurrentDictionary<string, LocalBackend> _views = new(StringComparer.Ordinal);

    public ServerState(ServerOptions options)
    {
        Options = options;
        Directory.CreateDirectory(options.HomeDirectory);
        Store = new SqliteRunStore(options.HomeDirectory, options.TimeProvider);
        Keys = new ApiKeyRegistry(Store, options.ApiKeys);
        var (directories, preload) = ResolveModels(options.Models);
        Engine = new LocalBackend(
            new LocalBackendOptions
            {
                HomeDirectory = Store.Home,
                ModelDirectories = directories,
                Owner = "server",
                MaxConcurrentSamples = options.MaxConcurrentSamples,
                MaxSampleKvBytes = options.MaxSampleKvBytes,
                MaxWaitingSamples = options.MaxWaitingSamples,
                Limits = options.Limits with { SessionWindow = options.SessionTimeout },
                SeqGapGrace = options.SeqGapGrace,
                TimeProvider = options.TimeProvider,
            },
            Store);
        ServedModels = preload;
        if (options.PreloadModels)
        {
            foreach (var name in preload)
            {
                Engine.Models.Get(name);
            }
        }

        Futures = new FutureTable(options.TimeProvider, options.FutureRetention);
        Replays = new ReplayTable();
        Archives = new ArchiveSigner(Store.GetOrCreateSecret("archive-hmac"), options.TimeProvider);
        RunMetrics = new RunMetricsRecorder(Store.RunDirectory, options.TimeProvider);
        Timeline = new PipelineTimeline(TimeProvider.System);
    }

    public ServerOptions Options { get; }

    public SqliteRunStore Store { get; }

    public ApiKeyRegistry Keys { get; }

    /// <summary>The engine itself (owner "server"); requests go through <see cref="For"/>.</summary>
    public LocalBackend Engine { get; }

    /// <summary>The base models named at start-up (built-in default first).</summary>
    public IReadOnlyList<string> ServedModels { get; }

    public FutureTable Futures { get; }

    public ReplayTable Replays { get; }

    public ArchiveSigner Archives { get; }

    /// <summary>Per-run engine metrics for the dashboard (<c>runs/&lt;run&gt;/metrics.jsonl</c>).</summary>
    public RunMetricsRecorder RunMetrics { get; }

    /// <summary>Per-run pipeline timeline for the dashboard: recent operations with queue and run times (real time).</summary>
    public PipelineTimeline Timeline { get; }

    /// <summary>The engine acting for <paramref name="user"/>.</summary>
    public LocalBackend For(string user) => _views.GetOrAdd(user, u => Engine.ForOwner(u));

    /// <summary>The authenticated user of a request (set by the API-key middleware).</summary>
    public static string User(HttpContext context) =>
        context.Items[UserItem] as string ?? throw new ApiError(StatusCodes.Status401Unauthorized, "Missing API key.");

    /// <summary>
    /// Submits a queued operation, de-duplicated by <paramref name="replayKey"/> when given, registers its future and
    /// returns the <c>{"request_id","model_id"?}</c> answer.
    /// </summary>
    public async Task<IResult> SubmitAsync<T>(string user, string? replayKey, byte[] canonicalBody, string? modelId, Func<Task<BackendOperation<T>>> submit)
    {
        async Task<string> Run()
        {
            BackendOperation<T> operation;
            try
            {
                operation = await submit().ConfigureAwait(false);
            }
            catch (TinkerRequestException ex)
            {
                throw ApiError.From(ex);
            }

            return Futures.Add(user, operation).RequestId;
        }

        string requestId;
        if (replayKey is null)
        {
            requestId = await Run().ConfigureAwait(false);
        }
        else
        {
            var (outcome, id) = await Replays.SubmitAsync($"{user}\n{replayKey}", canonicalBody, Run).ConfigureAwait(false);
            if (outcome == ReplayTable.Outcome.Conflict)
            {
                throw new ApiError(
                    StatusCodes.Status409Conflict,
                    $"{replayKey.Replace('\n', ' ')} was already used by a different request; each request needs a new seq_id (a replay must repeat the same body).");
            }

            requestId = id!;
        }

        return ApiResults.Ok(new UntypedApiFuture { RequestId = requestId, ModelId = modelId });
    }

    /// <summary>Frees the in-memory models and samplers of sessions whose last heartbeat is older than the timeout.</summary>
    /// <returns>The released session ids.</returns>
    public IReadOnlyList<string> ReleaseIdleSessions()
    {
        var cutoff = Store.Now - Options.SessionTimeout;
        var released = new List<string>();
        foreach (var sessionId in Engine.LoadedSessionIds)
        {
            var session = Store.TryGetSession(sessionId);
            if (session is null || session.LastHeartbeat < cutoff)
            {
                Engine.ReleaseSession(sessionId);
                released.Add(sessionId);
            }
        }

        return released;
    }

    /// <summary>Deletes archive files whose download links have expired.</summary>
    public int DeleteExpiredArchives()
    {
        var cutoff = Store.Now - Options.ArchiveUrlLifetime - TimeSpan.FromMinutes(1);
        var deleted = 0;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Store.Home, "archives")))
        {
            if (new DateTimeOffset(File.GetLastWriteTimeUtc(file), TimeSpan.Zero) < cutoff)
            {
                File.Delete(file);
                deleted++;
            }
        }

        return deleted;
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync().ConfigureAwait(false);
        Store.Dispose();
    }

    private static (IReadOnlyDictionary<string, string> Directories, IReadOnlyList<string> Served) ResolveModels(IEnumerable<string> requested)
    {
        var directories = new Dictionary<string, string>(
            LocalBackendOptions.ParseModelDirectories(Environment.GetEnvironmentVariable("TINKERFLOW_MODELS")),
            StringComparer.OrdinalIgnoreCase);
        var served = new List<string> { BuiltinModelCatalog.TinyQwen3 };
        foreach (var entry in requested)
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                directories[entry[..eq]] = Path.GetFullPath(entry[(eq + 1)..]);
                served.Add(entry[..eq]);
            }
            else if (BuiltinModelCatalog.Contains(entry))
            {
                served.Add(entry);
            }
            else if (Directory.Exists(entry))
            {
                var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(entry)));
                directories[name] = Path.GetFullPath(entry);
                served.Add(name);
            }
            else
            {
                throw new ArgumentException(
                    $"--model '{entry}' is neither a built-in model ({string.Join(", ", BuiltinModelCatalog.Names)}) nor an existing Hugging Face model folder; pass a folder, or name=folder.");
            }
        }

        return (directories, served.Distinct(StringComparer.OrdinalIgnoreCase).ToList());
    }
}
