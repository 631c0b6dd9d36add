using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Storage;

/// <summary>
/// The data directory of the embedded engine (default <c>~/.tinkerflow</c>, override <c>TINKERFLOW_HOME</c>):
/// sessions, training runs, samplers and checkpoints with their metadata. Every file is written to a temporary name
/// and renamed into place, and checkpoints are whole folders renamed into place.
/// </summary>
/// <remarks>
/// Layout: <c>sessions/&lt;id&gt;.json</c>, <c>samplers/&lt;id&gt;.json</c>, <c>runs/&lt;run&gt;/run.json</c>,
/// <c>runs/&lt;run&gt;/weights/&lt;name&gt;/</c> (adapter + optimizer state) and
/// <c>runs/&lt;run&gt;/sampler_weights/&lt;name&gt;/</c> (PEFT adapter), each with a <c>checkpoint.json</c>;
/// <c>archives/</c> holds downloadable tar.gz files.
/// </remarks>
internal sealed class LocalStore
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;

    public LocalStore(string home, TimeProvider? time = null)
    {
        Home = Path.GetFullPath(home);
        _time = time ?? TimeProvider.System;
        foreach (var dir in new[] { "sessions", "samplers", "runs", "archives" })
        {
            Directory.CreateDirectory(Path.Combine(Home, dir));
        }
    }

    /// <summary>The data directory.</summary>
    public string Home { get; }

    /// <summary><c>TINKERFLOW_HOME</c>, else <c>~/.tinkerflow</c>.</summary>
    public static string DefaultHome()
    {
        var env = Environment.GetEnvironmentVariable("TINKERFLOW_HOME");
        return string.IsNullOrWhiteSpace(env)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".tinkerflow")
            : env;
    }

    public DateTimeOffset Now => _time.GetUtcNow();

    // ---------------------------------------------------------------- sessions

    public SessionRecord CreateSession(string owner, CreateSessionRequest request)
    {
        var record = new SessionRecord
        {
            SessionId = $"sess-{RandomNumberGenerator.GetHexString(12, lowercase: true)}",
            Owner = owner,
            Tags = request.Tags,
            UserMetadata = request.UserMetadata,
            SdkVersion = request.SdkVersion,
            Created = Now,
            LastHeartbeat = Now,
        };
        lock (_lock)
        {
            WriteJson(SessionPath(record.SessionId), record, LocalStoreJsonContext.Default.SessionRecord);
        }

        return record;
    }

    public SessionRecord GetSession(string sessionId, string owner)
    {
        var record = TryReadJson(SessionPath(CheckId(sessionId, "session_id")), LocalStoreJsonContext.Default.SessionRecord);
        if (record is null || record.Owner != owner)
        {
            throw NotFound($"Session '{sessionId}' was not found. Sessions are created by ServiceClient; list yours with RestClient.ListSessionsAsync.");
        }

        return record;
    }

    public void Heartbeat(string sessionId, string owner)
    {
        lock (_lock)
        {
            var record = GetSession(sessionId, owner);
            WriteJson(SessionPath(sessionId), record with { LastHeartbeat = Now }, LocalStoreJsonContext.Default.SessionRecord);
        }
    }

    public void AddToSession(string sessionId, string owner, string? trainingRunId = null, string? samplerId = null)
    {
        lock (_lock)
        {
            var record = GetSession(sessionId, owner);
            if (trainingRunId is not null && !record.TrainingRunIds.Contains(trainingRunId))
            {
                record.TrainingRunIds.Add(trainingRunId);
            }

            if (samplerId is not null && !record.SamplerIds.Contains(samplerId))
            {
                record.SamplerIds.Add(samplerId);
            }

            WriteJson(SessionPath(sessionId), record, LocalStoreJsonContext.Default.SessionRecord);
        }
    }

    public IReadOnlyList<SessionRecord> ListSessions(string owner) =>
        Directory.EnumerateFiles(Path.Combine(Home, "sessions"), "*.json")
            .Select(f => TryReadJson(f, LocalStoreJsonContext.Default.SessionRecord))
            .OfType<SessionRecord>()
            .Where(s => s.Owner == owner)
            .OrderByDescending(s => s.Created)
            .ToList();

    // ---------------------------------------------------------------- runs

    public void SaveRun(RunRecord run)
    {
        lock (_lock)
        {
            Directory.CreateDirectory(RunDirectory(run.TrainingRunId));
            WriteJson(Path.Combine(RunDirectory(run.TrainingRunId), "run.json"), run, LocalStoreJsonContext.Default.RunRecord);
        }
    }

    public RunRecord? TryGetRun(string trainingRunId) =>
        IsSafeId(trainingRunId) ? TryReadJson(Path.Combine(RunDirectory(trainingRunId), "run.json"), LocalStoreJsonContext.Default.RunRecord) : null;

    /// <summary>Gets a run visible to <paramref name="owner"/> (its own, or with <paramref name="allowPublished"/> one that has a published checkpoint).</summary>
    public RunRecord GetRun(string trainingRunId, string owner, bool allowPublished = false)
    {
        var run = TryGetRun(trainingRunId);
        if (run is null || (run.ModelOwner != owner && !(allowPublished && ListCheckpoints(trainingRunId).Any(c => c.Public))))
        {
            throw NotFound($"Training run '{trainingRunId}' was not found. List your runs with RestClient.ListTrainingRunsAsync.");
        }

        return run;
    }

    public void TouchRun(string trainingRunId)
    {
        lock (_lock)
        {
            if (TryGetRun(trainingRunId) is { } run)
            {
                WriteJson(Path.Combine(RunDirectory(trainingRunId), "run.json"), run with { LastRequestTime = Now }, LocalStoreJsonContext.Default.RunRecord);
            }
        }
    }

    public IReadOnlyList<RunRecord> ListRuns(string owner, bool includePublished) =>
        Directory.EnumerateDirectories(Path.Combine(Home, "runs"))
            .Select(d => TryReadJson(Path.Combine(d, "run.json"), LocalStoreJsonContext.Default.RunRecord))
            .OfType<RunRecord>()
            .Where(r => r.ModelOwner == owner || (includePublished && ListCheckpoints(r.TrainingRunId).Any(c => c.Public)))
            .OrderByDescending(r => r.Created)
            .ToList();

    public TrainingRun ToTrainingRun(RunRecord run)
    {
        var checkpoints = ListCheckpoints(run.TrainingRunId);
        return new TrainingRun
        {
            TrainingRunId = run.TrainingRunId,
            BaseModel = run.BaseModel,
            ModelOwner = run.ModelOwner,
            IsLora = true,
            Corrupted = false,
            LoraRank = run.LoraConfig.Rank,
            LastRequestTime = run.LastRequestTime,
            LastCheckpoint = checkpoints.FirstOrDefault(c => c.CheckpointType == CheckpointType.Training),
            LastSamplerCheckpoint = checkpoints.FirstOrDefault(c => c.CheckpointType == CheckpointType.Sampler),
            UserMetadata = run.UserMetadata,
        };
    }

    // ---------------------------------------------------------------- samplers

    public void SaveSampler(SamplerRecord sampler)
    {
        lock (_lock)
        {
            WriteJson(SamplerPath(sampler.SamplerId), sampler, LocalStoreJsonContext.Default.SamplerRecord);
        }
    }

    public SamplerRecord GetSampler(string samplerId, string owner)
    {
        var record = IsSafeId(samplerId) ? TryReadJson(SamplerPath(samplerId), LocalStoreJsonContext.Default.SamplerRecord) : null;
        if (record is null || record.Owner != owner)
        {
            throw NotFound($"Sampler '{samplerId}' was not found. Create one with ServiceClient.CreateSamplingClientAsync.");
        }

        return record;
    }

    // ---------------------------------------------------------------- checkpoints

    /// <summary>Starts writing a checkpoint; fails with 409 if the name exists and <paramref name="overwrite"/> is false.</summary>
    public PendingCheckpoint BeginCheckpoint(string trainingRunId, CheckpointType type, string name, bool overwrite, long? ttlSeconds)
    {
        CheckName(name);
        if (ttlSeconds is <= 0)
        {
            throw User($"ttl_seconds must be positive, got {ttlSeconds}; omit it to keep the checkpoint forever.");
        }

        var final = CheckpointDirectory(trainingRunId, type, name);
        if (!overwrite && Directory.Exists(final))
        {
            throw new TinkerRequestException(
                $"Checkpoint '{ParsedCheckpointTinkerPath.Format(trainingRunId, type, name)}' already exists. Choose another name or pass overwrite: true.",
                RequestErrorCategory.User,
                status: 409);
        }

        var temp = Path.Combine(RunDirectory(trainingRunId), $".tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        return new PendingCheckpoint(this, trainingRunId, type, name, temp, final, overwrite, ttlSeconds);
    }

    internal Checkpoint CommitCheckpoint(PendingCheckpoint pending)
    {
        var size = Directory.EnumerateFiles(pending.Directory, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        var checkpoint = new Checkpoint
        {
            CheckpointId = $"{KindSegment(pending.Type)}/{pending.Name}",
            CheckpointType = pending.Type,
            Time = Now,
            TinkerPath = pending.TinkerPath,
            SizeBytes = size,
            Public = false,
            ExpiresAt = pending.TtlSeconds is { } ttl ? Now.AddSeconds(ttl) : null,
        };
        WriteJson(Path.Combine(pending.Directory, "checkpoint.json"), checkpoint, LocalStoreJsonContext.Default.Checkpoint);
        lock (_lock)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(pending.FinalDirectory)!);
            string? trash = null;
            if (Directory.Exists(pending.FinalDirectory))
            {
                if (!pending.Overwrite)
                {
                    throw new TinkerRequestException($"Checkpoint '{pending.TinkerPath}' already exists. Choose another name or pass overwrite: true.", RequestErrorCategory.User, status: 409);
                }

                trash = Path.Combine(RunDirectory(pending.RunId), $".trash-{Guid.NewGuid():N}");
                Directory.Move(pending.FinalDirectory, trash);
            }

            Directory.Move(pending.Directory, pending.FinalDirectory);
            if (trash is not null)
            {
                Directory.Delete(trash, recursive: true);
            }
        }

        return checkpoint;
    }

    /// <summary>Checkpoints of a run, newest first (expired ones are deleted first).</summary>
    public IReadOnlyList<Checkpoint> ListCheckpoints(string trainingRunId)
    {
        var result = new List<Checkpoint>();
        foreach (var type in new[] { CheckpointType.Training, CheckpointType.Sampler })
        {
            var kindDir = Path.Combine(RunDirectory(trainingRunId), KindSegment(type));
            if (!Directory.Exists(kindDir))
            {
                continue;
            }

            foreach (var dir in Directory.EnumerateDirectories(kindDir))
            {
                if (TryReadJson(Path.Combine(dir, "checkpoint.json"), LocalStoreJsonContext.Default.Checkpoint) is not { } checkpoint)
                {
                    continue;
                }

                if (checkpoint.ExpiresAt is { } expires && expires <= Now)
                {
                    TryDeleteDirectory(dir);
                    continue;
                }

                result.Add(checkpoint);
            }
        }

        return result.OrderByDescending(c => c.Time).ToList();
    }

    public IReadOnlyList<Checkpoint> ListUserCheckpoints(string owner) =>
        ListRuns(owner, includePublished: false).SelectMany(r => ListCheckpoints(r.TrainingRunId)).OrderByDescending(c => c.Time).ToList();

    /// <summary>Finds a checkpoint readable by <paramref name="owner"/> (own, or published when <paramref name="forWrite"/> is false).</summary>
    public (Checkpoint Checkpoint, string Directory, RunRecord Run) GetCheckpoint(string trainingRunId, string checkpointId, string owner, bool forWrite = false)
    {
        var path = ParseCheckpointId(trainingRunId, checkpointId);
        var run = TryGetRun(trainingRunId);
        var dir = CheckpointDirectory(trainingRunId, path.CheckpointType, path.Name);
        var checkpoint = run is null ? null : TryReadJson(Path.Combine(dir, "checkpoint.json"), LocalStoreJsonContext.Default.Checkpoint);
        if (checkpoint is { ExpiresAt: { } expires } && expires <= Now)
        {
            TryDeleteDirectory(dir);
            checkpoint = null;
        }

        if (run is null || checkpoint is null || (run.ModelOwner != owner && !checkpoint.Public))
        {
            throw NotFound($"Checkpoint '{path.TinkerPath}' was not found (deleted, expired, or never saved). List checkpoints with RestClient.ListCheckpointsAsync(\"{trainingRunId}\").");
        }

        if (forWrite && run.ModelOwner != owner)
        {
            throw new TinkerRequestException($"Checkpoint '{path.TinkerPath}' belongs to another user; published checkpoints can be read but not changed.", RequestErrorCategory.User, status: 403);
        }

        return (checkpoint, dir, run);
    }

    public (Checkpoint Checkpoint, string Directory, RunRecord Run) ResolveTinkerPath(string tinkerPath, string owner)
    {
        ParsedCheckpointTinkerPath parsed;
        try
        {
            parsed = ParsedCheckpointTinkerPath.FromTinkerPath(tinkerPath);
        }
        catch (ArgumentException ex)
        {
            throw User(ex.Message);
        }

        return GetCheckpoint(parsed.TrainingRunId, parsed.CheckpointId, owner);
    }

    public void DeleteCheckpoint(string trainingRunId, string checkpointId, string owner)
    {
        var (_, dir, _) = GetCheckpoint(trainingRunId, checkpointId, owner, forWrite: true);
        lock (_lock)
        {
            TryDeleteDirectory(dir);
        }
    }

    public void SetPublic(string trainingRunId, string checkpointId, string owner, bool isPublic)
    {
        lock (_lock)
        {
            var (checkpoint, dir, _) = GetCheckpoint(trainingRunId, checkpointId, owner, forWrite: true);
            if (checkpoint.Public == isPublic)
            {
                throw new TinkerRequestException($"Checkpoint '{checkpoint.TinkerPath}' is already {(isPublic ? "public" : "private")}.", RequestErrorCategory.User, status: 409);
            }

            WriteJson(Path.Combine(dir, "checkpoint.json"), checkpoint with { Public = isPublic }, LocalStoreJsonContext.Default.Checkpoint);
        }
    }

    public void SetTtl(string trainingRunId, string checkpointId, string owner, long? ttlSeconds)
    {
        if (ttlSeconds is <= 0)
        {
            throw User($"ttl_seconds must be positive, got {ttlSeconds}; pass null to remove the expiry.");
        }

        lock (_lock)
        {
            var (checkpoint, dir, _) = GetCheckpoint(trainingRunId, checkpointId, owner, forWrite: true);
            WriteJson(Path.Combine(dir, "checkpoint.json"), checkpoint with { ExpiresAt = ttlSeconds is { } ttl ? Now.AddSeconds(ttl) : null }, LocalStoreJsonContext.Default.Checkpoint);
        }
    }

    /// <summary>Packs a checkpoint into <c>archives/&lt;random&gt;.tar.gz</c> and returns its path.</summary>
    public string CreateArchive(string trainingRunId, string checkpointId, string owner)
    {
        var (checkpoint, dir, _) = GetCheckpoint(trainingRunId, checkpointId, owner);
        var name = $"{RandomNumberGenerator.GetHexString(16, lowercase: true)}.tar.gz";
        var final = Path.Combine(Home, "archives", name);
        var temp = final + ".tmp";
        using (var file = File.Create(temp))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            var root = checkpoint.CheckpointId.Replace('/', '-');
            foreach (var path in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                tar.WriteEntry(path, $"{root}/{Path.GetRelativePath(dir, path)}");
            }
        }

        File.Move(temp, final);
        return final;
    }

    // ---------------------------------------------------------------- helpers

    public string RunDirectory(string trainingRunId) => Path.Combine(Home, "runs", CheckId(trainingRunId, "training_run_id"));

    public string CheckpointDirectory(string trainingRunId, CheckpointType type, string name) =>
        Path.Combine(RunDirectory(trainingRunId), KindSegment(type), CheckName(name));

    public static string KindSegment(CheckpointType type) => type == CheckpointType.Training ? "weights" : "sampler_weights";

    private static ParsedCheckpointTinkerPath ParseCheckpointId(string trainingRunId, string checkpointId)
    {
        try
        {
            return ParsedCheckpointTinkerPath.FromTinkerPath($"tinker://{trainingRunId}/{checkpointId}");
        }
        catch (ArgumentException ex)
        {
            throw User($"Invalid checkpoint '{checkpointId}' of run '{trainingRunId}': {ex.Message}");
        }
    }

    private string SessionPath(string id) => Path.Combine(Home, "sessions", $"{CheckId(id, "session_id")}.json");

    private string SamplerPath(string id) => Path.Combine(Home, "samplers", $"{CheckId(id, "sampler_id")}.json");

    private static bool IsSafeId(string id) =>
        !string.IsNullOrWhiteSpace(id) && id.Length <= 200 && id != "." && !id.Contains("..", StringComparison.Ordinal)
        && id.IndexOfAny(['/', '\\', '\0']) < 0 && !id.Any(char.IsControl);

    private static string CheckId(string id, string field) =>
        IsSafeId(id) ? id : throw User($"Invalid {field} '{id}': ids may not be empty or contain '/', '\\', '..' or control characters.");

    private static string CheckName(string name) =>
        IsSafeId(name) && !name.StartsWith('.') ? name : throw User($"Invalid checkpoint name '{name}': use letters, digits and '-', '_', '.' (not leading), without '/' or '..'.");

    private static TinkerRequestException User(string message) => new(message, RequestErrorCategory.User, status: 400);

    private static TinkerRequestException NotFound(string message) => new(message, RequestErrorCategory.User, status: 404);

    private static void TryDeleteDirectory(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    internal static void WriteJson<T>(string path, T value, JsonTypeInfo<T> typeInfo)
    {
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));
        File.Move(temp, path, overwrite: true);
    }

    private static T? TryReadJson<T>(string path, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), typeInfo);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }
}
