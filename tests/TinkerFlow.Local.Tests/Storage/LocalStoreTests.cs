using System.Formats.Tar;
using System.IO.Compression;
using Microsoft.Extensions.Time.Testing;
using TinkerFlow.Local.Storage;
using TinkerFlow.Local.Tests.Backend;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Tests.Storage;

public sealed class LocalStoreTests : IDisposable
{
    private readonly TempHome _home = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-22T00:00:00Z"));
    private readonly LocalStore _store;
    private readonly string _runId;

    public LocalStoreTests()
    {
        _store = new LocalStore(_home.Path, _time);
        var session = _store.CreateSession("alice", new CreateSessionRequest { Tags = [], UserMetadata = new Dictionary<string, string>(), SdkVersion = "0.24.1" });
        _runId = $"{session.SessionId}:train:0";
        _store.SaveRun(new RunRecord
        {
            TrainingRunId = _runId,
            BaseModel = "tinkerflow/tiny-qwen3",
            ModelOwner = "alice",
            SessionId = session.SessionId,
            LoraConfig = new LoraConfig { Rank = 4 },
            Created = _time.GetUtcNow(),
            LastRequestTime = _time.GetUtcNow(),
        });
    }

    public void Dispose() => _home.Dispose();

    private Checkpoint Save(string name, CheckpointType type = CheckpointType.Training, long? ttl = null)
    {
        using var pending = _store.BeginCheckpoint(_runId, type, name, overwrite: false, ttl);
        File.WriteAllText(Path.Combine(pending.Directory, "adapter_model.safetensors"), "weights");
        return pending.Commit();
    }

    [Fact]
    public void Checkpoint_AppearsOnlyWhenCommitted()
    {
        using (var pending = _store.BeginCheckpoint(_runId, CheckpointType.Training, "crashed", overwrite: false, ttlSeconds: null))
        {
            File.WriteAllText(Path.Combine(pending.Directory, "adapter_model.safetensors"), "half");
            // No Commit: simulates a failure while writing.
        }

        Assert.Empty(_store.ListCheckpoints(_runId));
        Assert.False(Directory.Exists(_store.CheckpointDirectory(_runId, CheckpointType.Training, "crashed")));
        Assert.DoesNotContain(Directory.EnumerateDirectories(_store.RunDirectory(_runId)), d => Path.GetFileName(d).StartsWith(".tmp-", StringComparison.Ordinal));
    }

    [Fact]
    public void Checkpoint_CommitRecordsPathSizeAndTtl()
    {
        var checkpoint = Save("step-1", ttl: 60);

        Assert.Equal($"tinker://{_runId}/weights/step-1", checkpoint.TinkerPath);
        Assert.Equal("weights/step-1", checkpoint.CheckpointId);
        Assert.True(checkpoint.SizeBytes > 0);
        Assert.Equal(_time.GetUtcNow().AddSeconds(60), checkpoint.ExpiresAt);
    }

    [Fact]
    public void Checkpoint_ExpiresAfterItsTtl()
    {
        Save("short", ttl: 60);
        Save("kept");

        _time.Advance(TimeSpan.FromSeconds(61));

        Assert.Equal(["weights/kept"], _store.ListCheckpoints(_runId).Select(c => c.CheckpointId));
        var ex = Assert.Throws<TinkerRequestException>(() => _store.ResolveTinkerPath($"tinker://{_runId}/weights/short", "alice"));
        Assert.Equal(404, ex.Status);
    }

    [Fact]
    public void Checkpoint_DuplicateNameIsAConflictUnlessOverwriting()
    {
        Save("dup");

        var ex = Assert.Throws<TinkerRequestException>(() => _store.BeginCheckpoint(_runId, CheckpointType.Training, "dup", overwrite: false, ttlSeconds: null));
        Assert.Equal(409, ex.Status);
        using var pending = _store.BeginCheckpoint(_runId, CheckpointType.Training, "dup", overwrite: true, ttlSeconds: null);
        File.WriteAllText(Path.Combine(pending.Directory, "adapter_model.safetensors"), "newer");
        pending.Commit();
        Assert.Equal("newer", File.ReadAllText(Path.Combine(_store.CheckpointDirectory(_runId, CheckpointType.Training, "dup"), "adapter_model.safetensors")));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("")]
    public void Checkpoint_RejectsUnsafeNames(string name)
    {
        var ex = Assert.Throws<TinkerRequestException>(() => _store.BeginCheckpoint(_runId, CheckpointType.Training, name, overwrite: false, ttlSeconds: null));
        Assert.Equal(RequestErrorCategory.User, ex.Category);
    }

    [Fact]
    public void PrivateCheckpoints_AreInvisibleToOthersUntilPublished()
    {
        var checkpoint = Save("shared");

        Assert.Throws<TinkerRequestException>(() => _store.ResolveTinkerPath(checkpoint.TinkerPath, "bob"));
        _store.SetPublic(_runId, checkpoint.CheckpointId, "alice", isPublic: true);
        Assert.Equal(checkpoint.TinkerPath, _store.ResolveTinkerPath(checkpoint.TinkerPath, "bob").Checkpoint.TinkerPath);
        var denied = Assert.Throws<TinkerRequestException>(() => _store.DeleteCheckpoint(_runId, checkpoint.CheckpointId, "bob"));
        Assert.Equal(403, denied.Status);
    }

    [Fact]
    public void Archive_ContainsTheCheckpointFiles()
    {
        var checkpoint = Save("packed", CheckpointType.Sampler);

        var path = _store.CreateArchive(_runId, checkpoint.CheckpointId, "alice");

        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        var names = new List<string>();
        while (tar.GetNextEntry() is { } entry)
        {
            names.Add(entry.Name);
        }

        Assert.Contains("sampler_weights-packed/adapter_model.safetensors", names);
        Assert.Contains("sampler_weights-packed/checkpoint.json", names);
    }

    [Fact]
    public void Runs_SurviveANewStoreOnTheSameHome()
    {
        Save("durable");

        var reopened = new LocalStore(_home.Path, _time);

        Assert.Equal("alice", reopened.GetRun(_runId, "alice").ModelOwner);
        Assert.Single(reopened.ListCheckpoints(_runId));
    }
}
