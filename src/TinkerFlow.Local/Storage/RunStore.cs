using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Storage;

/// <summary>
/// The engine's record of sessions, training runs, samplers and checkpoint metadata, plus the checkpoint files
/// themselves under <see cref="Home"/>. Subclasses decide where the metadata lives: <see cref="LocalStore"/> keeps
/// it in JSON files (the embedded default); TinkerFlow.Server keeps it in SQLite. Checkpoint files are always
/// folders under <c>runs/&lt;run&gt;/{weights,sampler_weights}/&lt;name&gt;/</c>, renamed into place when complete.
/// </summary>
/// <remarks>
/// The base class owns every rule (ownership, visibility of published checkpoints, expiry, name checks, 404/403/409
/// answers); subclasses only read and write records. Writes that read first run under <see cref="Gate"/>.
/// </remarks>
internal abstract class RunStore
{
    private readonly TimeProvider _time;

    protected RunStore(string home, TimeProvider? time)
    {
        Home = Path.GetFullPath(home);
        _time = time ?? TimeProvider.System;
        foreach (var dir in new[] { "runs", "archives" })
        {
            Directory.CreateDirectory(Path.Combine(Home, dir));
        }
    }

    /// <summary>The data directory (checkpoint files, archives, cached models).</summary>
    public string Home { get; }

    public DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>Serialises read-modify-write sequences.</summary>
    protected Lock Gate { get; } = new();

    /// <summary><c>TINKERFLOW_HOME</c>, else <c>~/.tinkerflow</c>.</summary>
    public static string DefaultHome()
    {
        var env = Environment.GetEnvironmentVariable("TINKERFLOW_HOME");
        return string.IsNullOrWhiteSpace(env)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".tinkerflow")
            : env;
    }

    // ---------------------------------------------------------------- record access (subclasses)

    protected abstract SessionRecord? ReadSession(string sessionId);

    protected abstract void WriteSession(SessionRecord record);

    protected abstract IEnumerable<SessionRecord> ReadSessions(string owner);

    protected abstract RunRecord? ReadRun(string trainingRunId);

    protected abstract void WriteRun(RunRecord run);

    protected abstract IEnumerable<RunRecord> ReadRuns(string owner, bool includePublished);

    protected abstract SamplerRecord? ReadSampler(string samplerId);

    protected abstract void WriteSampler(SamplerRecord sampler);

    /// <summary>Every checkpoint record of a run (expired ones included).</summary>
    protected abstract IEnumerable<Checkpoint> ReadCheckpoints(string trainingRunId);

    protected abstract Checkpoint? ReadCheckpoint(string trainingRunId, CheckpointType type, string name);

    /// <summary>Updates a committed checkpoint's record (publish, TTL).</summary>
    protected abstract void WriteCheckpoint(string trainingRunId, Checkpoint checkpoint);

    /// <summary>Records a checkpoint whose folder has just been moved into place (called under <see cref="Gate"/>).</summary>
    protected abstract void CheckpointCommitted(string trainingRunId, Checkpoint checkpoint);

    /// <summary>Forgets a checkpoint's record (its folder is deleted by the caller).</summary>
    protected abstract void RemoveCheckpoint(string trainingRunId, CheckpointType type, string name);

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
        lock (Gate)
        {
            WriteSession(record);
        }

        return record;
    }

    /// <summary>A session by id regardless of owner, or null (also for ids that are not well-formed).</summary>
    public SessionRecord? TryGetSession(string sessionId) => IsSafeId(sessionId) ? ReadSession(sessionId) : null;

    public SessionRecord GetSession(string sessionId, string owner)
    {
        var record = ReadSession(CheckId(sessionId, "session_id"));
        if (record is null || record.Owner != owner)
        {
            throw NotFound($"Session '{sessionId}' was not found. Sessions are created by ServiceClient; list yours with RestClient.ListSessionsAsync.");
        }

        return record;
    }

    public void Heartbeat(string sessionId, string owner)
    {
        lock (Gate)
        {
            var record = GetSession(sessionId, owner);
            WriteSession(record with { LastHeartbeat = Now });
        }
    }

    public void AddToSession(string sessionId, string owner, string? trainingRunId = null, string? samplerId = null)
    {
        lock (Gate)
        {
            var record = GetSession(sessionId, owner);
            var runs = record.TrainingRunIds.ToList();
            var samplers = record.SamplerIds.ToList();
            if (trainingRunId is not null && !runs.Contains(trainingRunId))
            {
                runs.Add(trainingRunId);
            }

            if (samplerId is not null && !samplers.Contains(samplerId))
            {
                samplers.Add(samplerId);
            }

            WriteSession(record with { TrainingRunIds = runs, SamplerIds = samplers });
        }
    }

    /// <summary>The owner's sessions, newest first.</summary>
    public IReadOnlyList<SessionRecord> ListSessions(string owner) =>
        ReadSessions(owner).Where(s => s.Owner == owner).OrderByDescending(s => s.Created).ToList();

    // ---------------------------------------------------------------- runs

    public void SaveRun(RunRecord run)
    {
        CheckId(run.TrainingRunId, "training_run_id");
        lock (Gate)
        {
            WriteRun(run);
        }
    }

    public RunRecord? TryGetRun(string trainingRunId) => IsSafeId(trainingRunId) ? ReadRun(trainingRunId) : null;

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
        lock (Gate)
        {
            if (TryGetRun(trainingRunId) is { } run)
            {
                WriteRun(run with { LastRequestTime = Now });
            }
        }
    }

    /// <summary>The owner's runs (and, with <paramref name="includePublished"/>, runs with a published checkpoint), newest first.</summary>
    public IReadOnlyList<RunRecord> ListRuns(string owner, bool includePublished) =>
        ReadRuns(owner, includePublished)
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
        CheckId(sampler.SamplerId, "sampler_id");
        lock (Gate)
        {
            WriteSampler(sampler);
        }
    }

    /// <summary>The owner of a sampler, or null when there is no such sampler.</summary>
    public string? TryGetSamplerOwner(string samplerId) => IsSafeId(samplerId) ? ReadSampler(samplerId)?.Owner : null;

    public SamplerRecord GetSampler(string samplerId, string owner)
    {
        var record = IsSafeId(samplerId) ? ReadSampler(samplerId) : null;
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
        if (!overwrite && Exists(trainingRunId, type, name, final))
        {
            throw Conflict(ParsedCheckpointTinkerPath.Format(trainingRunId, type, name));
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
            TrainingRunId = pending.RunId,
        };

        // Every checkpoint folder describes itself, whatever keeps the authoritative record.
        LocalStore.WriteJson(Path.Combine(pending.Directory, LocalStore.CheckpointFileName), checkpoint, LocalStoreJsonContext.Default.Checkpoint);
        lock (Gate)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(pending.FinalDirectory)!);
            string? trash = null;
            if (Directory.Exists(pending.FinalDirectory))
            {
                if (!pending.Overwrite && Exists(pending.RunId, pending.Type, pending.Name, pending.FinalDirectory))
                {
                    throw Conflict(pending.TinkerPath);
                }

                trash = Path.Combine(RunDirectory(pending.RunId), $".trash-{Guid.NewGuid():N}");
                Directory.Move(pending.FinalDirectory, trash);
            }

            Directory.Move(pending.Directory, pending.FinalDirectory);
            CheckpointCommitted(pending.RunId, checkpoint);
            if (trash is not null)
            {
                TryDeleteDirectory(trash);
            }
        }

        return checkpoint;
    }

    /// <summary>Checkpoints of a run, newest first (expired ones are deleted first).</summary>
    public IReadOnlyList<Checkpoint> ListCheckpoints(string trainingRunId)
    {
        var result = new List<Checkpoint>();
        foreach (var checkpoint in ReadCheckpoints(CheckId(trainingRunId, "training_run_id")).ToList())
        {
            if (IsExpired(checkpoint))
            {
                Expire(trainingRunId, checkpoint);
                continue;
            }

            result.Add(checkpoint);
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
        var checkpoint = run is null ? null : ReadCheckpoint(trainingRunId, path.CheckpointType, path.Name);
        if (checkpoint is not null && IsExpired(checkpoint))
        {
            Expire(trainingRunId, checkpoint);
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
        var (checkpoint, dir, _) = GetCheckpoint(trainingRunId, checkpointId, owner, forWrite: true);
        lock (Gate)
        {
            RemoveCheckpoint(trainingRunId, checkpoint.CheckpointType, NameOf(checkpoint));
            TryDeleteDirectory(dir);
        }
    }

    public void SetPublic(string trainingRunId, string checkpointId, string owner, bool isPublic)
    {
        lock (Gate)
        {
            var (checkpoint, _, _) = GetCheckpoint(trainingRunId, checkpointId, owner, forWrite: true);
            if (checkpoint.Public == isPublic)
            {
                throw new TinkerRequestException($"Checkpoint '{checkpoint.TinkerPath}' is already {(isPublic ? "public" : "private")}.", RequestErrorCategory.User, status: 409);
            }

            WriteCheckpoint(trainingRunId, checkpoint with { Public = isPublic });
        }
    }

    public void SetTtl(string trainingRunId, string checkpointId, string owner, long? ttlSeconds)
    {
        if (ttlSeconds is <= 0)
        {
            throw User($"ttl_seconds must be positive, got {ttlSeconds}; pass null to remove the expiry.");
        }

        lock (Gate)
        {
            var (checkpoint, _, _) = GetCheckpoint(trainingRunId, checkpointId, owner, forWrite: true);
            WriteCheckpoint(trainingRunId, checkpoint with { ExpiresAt = ttlSeconds is { } ttl ? Now.AddSeconds(ttl) : null });
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

    /// <summary>The name part of a checkpoint id (<c>weights/&lt;name&gt;</c>).</summary>
    protected static string NameOf(Checkpoint checkpoint) => checkpoint.CheckpointId[(checkpoint.CheckpointId.IndexOf('/', StringComparison.Ordinal) + 1)..];

    protected static bool IsSafeId(string id) =>
        !string.IsNullOrWhiteSpace(id) && id.Length <= 200 && id != "." && !id.Contains("..", StringComparison.Ordinal)
        && id.IndexOfAny(['/', '\\', '\0']) < 0 && !id.Any(char.IsControl);

    protected static string CheckId(string id, string field) =>
        IsSafeId(id) ? id : throw User($"Invalid {field} '{id}': ids may not be empty or contain '/', '\\', '..' or control characters.");

    protected static void TryDeleteDirectory(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private bool Exists(string trainingRunId, CheckpointType type, string name, string directory) =>
        Directory.Exists(directory) && ReadCheckpoint(trainingRunId, type, name) is { } existing && !IsExpired(existing);

    private bool IsExpired(Checkpoint checkpoint) => checkpoint.ExpiresAt is { } expires && expires <= Now;

    private void Expire(string trainingRunId, Checkpoint checkpoint)
    {
        lock (Gate)
        {
            var name = NameOf(checkpoint);
            RemoveCheckpoint(trainingRunId, checkpoint.CheckpointType, name);
            TryDeleteDirectory(CheckpointDirectory(trainingRunId, checkpoint.CheckpointType, name));
        }
    }

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

    private static string CheckName(string name) =>
        IsSafeId(name) && !name.StartsWith('.') ? name : throw User($"Invalid checkpoint name '{name}': use letters, digits and '-', '_', '.' (not leading), without '/' or '..'.");

    private static TinkerRequestException Conflict(string tinkerPath) =>
        new($"Checkpoint '{tinkerPath}' already exists. Choose another name or pass overwrite: true.", RequestErrorCategory.User, status: 409);

    private static TinkerRequestException User(string message) => new(message, RequestErrorCategory.User, status: 400);

    private static TinkerRequestException NotFound(string message) => new(message, RequestErrorCategory.User, status: 404);
}
