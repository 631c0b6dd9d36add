using TinkerFlow.Types;

namespace TinkerFlow.Local.Storage;

/// <summary>
/// A checkpoint being written: files go into <see cref="Directory"/> (a temporary folder) and appear under their
/// final name only when <see cref="Commit"/> renames the folder into place, so a crash never leaves half a
/// checkpoint. Disposing an uncommitted checkpoint deletes the temporary folder.
/// </summary>
internal sealed class PendingCheckpoint : IDisposable
{
    private readonly RunStore _store;
    private bool _done;

    internal PendingCheckpoint(RunStore store, string runId, CheckpointType type, string name, string directory, string finalDirectory, bool overwrite, long? ttlSeconds)
    {
        _store = store;
        RunId = runId;
        Type = type;
        Name = name;
        Directory = directory;
        FinalDirectory = finalDirectory;
        Overwrite = overwrite;
        TtlSeconds = ttlSeconds;
    }

    public string RunId { get; }

    public CheckpointType Type { get; }

    public string Name { get; }

    /// <summary>The temporary folder to write files into.</summary>
    public string Directory { get; }

    public string FinalDirectory { get; }

    public bool Overwrite { get; }

    public long? TtlSeconds { get; }

    public string TinkerPath => ParsedCheckpointTinkerPath.Format(RunId, Type, Name);

    /// <summary>Writes the metadata and atomically moves the checkpoint into place.</summary>
    public Checkpoint Commit()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        var checkpoint = _store.CommitCheckpoint(this);
        _done = true;
        return checkpoint;
    }

    public void Dispose()
    {
        if (_done)
        {
            return;
        }

        _done = true;
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
