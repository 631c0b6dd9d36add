using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Storage;

/// <summary>
/// The embedded engine's store: every record is a JSON file in the data directory (default <c>~/.tinkerflow</c>,
/// override <c>TINKERFLOW_HOME</c>), written to a temporary name and renamed into place.
/// </summary>
/// <remarks>
/// Layout: <c>sessions/&lt;id&gt;.json</c>, <c>samplers/&lt;id&gt;.json</c>, <c>runs/&lt;run&gt;/run.json</c>,
/// <c>runs/&lt;run&gt;/weights/&lt;name&gt;/</c> (adapter + optimizer state) and
/// <c>runs/&lt;run&gt;/sampler_weights/&lt;name&gt;/</c> (PEFT adapter), each with a <c>checkpoint.json</c>;
/// <c>archives/</c> holds downloadable tar.gz files.
/// </remarks>
internal sealed class LocalStore : RunStore
{
    /// <summary>The metadata file inside every checkpoint folder.</summary>
    public const string CheckpointFileName = "checkpoint.json";

    public LocalStore(string home, TimeProvider? time = null)
        : base(home, time)
    {
        foreach (var dir in new[] { "sessions", "samplers" })
        {
            Directory.CreateDirectory(Path.Combine(Home, dir));
        }
    }

    protected override SessionRecord? ReadSession(string sessionId) =>
        TryReadJson(SessionPath(sessionId), LocalStoreJsonContext.Default.SessionRecord);

    protected override void WriteSession(SessionRecord record) =>
        WriteJson(SessionPath(record.SessionId), record, LocalStoreJsonContext.Default.SessionRecord);

    protected override IEnumerable<SessionRecord> ReadSessions(string owner) =>
        Directory.EnumerateFiles(Path.Combine(Home, "sessions"), "*.json")
            .Select(f => TryReadJson(f, LocalStoreJsonContext.Default.SessionRecord))
            .OfType<SessionRecord>();

    protected override RunRecord? ReadRun(string trainingRunId) =>
        TryReadJson(Path.Combine(RunDirectory(trainingRunId), "run.json"), LocalStoreJsonContext.Default.RunRecord);

    protected override void WriteRun(RunRecord run)
    {
        Directory.CreateDirectory(RunDirectory(run.TrainingRunId));
        WriteJson(Path.Combine(RunDirectory(run.TrainingRunId), "run.json"), run, LocalStoreJsonContext.Default.RunRecord);
    }

    protected override IEnumerable<RunRecord> ReadRuns(string owner, bool includePublished) =>
        Directory.EnumerateDirectories(Path.Combine(Home, "runs"))
            .Select(d => TryReadJson(Path.Combine(d, "run.json"), LocalStoreJsonContext.Default.RunRecord))
            .OfType<RunRecord>();

    protected override SamplerRecord? ReadSampler(string samplerId) =>
        TryReadJson(SamplerPath(samplerId), LocalStoreJsonContext.Default.SamplerRecord);

    protected override void WriteSampler(SamplerRecord sampler) =>
        WriteJson(SamplerPath(sampler.SamplerId), sampler, LocalStoreJsonContext.Default.SamplerRecord);

    protected override IEnumerable<Checkpoint> ReadCheckpoints(string trainingRunId)
    {
        foreach (var type in new[] { CheckpointType.Training, CheckpointType.Sampler })
        {
            var kindDir = Path.Combine(RunDirectory(trainingRunId), KindSegment(type));
            if (!Directory.Exists(kindDir))
            {
                continue;
            }

            foreach (var dir in Directory.EnumerateDirectories(kindDir))
            {
                if (TryReadJson(Path.Combine(dir, CheckpointFileName), LocalStoreJsonContext.Default.Checkpoint) is { } checkpoint)
                {
                    yield return checkpoint;
                }
            }
        }
    }

    protected override Checkpoint? ReadCheckpoint(string trainingRunId, CheckpointType type, string name) =>
        TryReadJson(Path.Combine(CheckpointDirectory(trainingRunId, type, name), CheckpointFileName), LocalStoreJsonContext.Default.Checkpoint);

    protected override void WriteCheckpoint(string trainingRunId, Checkpoint checkpoint) =>
        WriteJson(Path.Combine(CheckpointDirectory(trainingRunId, checkpoint.CheckpointType, NameOf(checkpoint)), CheckpointFileName), checkpoint, LocalStoreJsonContext.Default.Checkpoint);

    protected override void CheckpointCommitted(string trainingRunId, Checkpoint checkpoint)
    {
        // The checkpoint.json moved into place with the folder: nothing else to record.
    }

    protected override void RemoveCheckpoint(string trainingRunId, CheckpointType type, string name)
    {
        // The record is the folder's checkpoint.json, deleted with the folder.
    }

    internal static void WriteJson<T>(string path, T value, JsonTypeInfo<T> typeInfo)
    {
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));
        File.Move(temp, path, overwrite: true);
    }

    private string SessionPath(string id) => Path.Combine(Home, "sessions", $"{CheckId(id, "session_id")}.json");

    private string SamplerPath(string id) => Path.Combine(Home, "samplers", $"{CheckId(id, "sampler_id")}.json");

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
