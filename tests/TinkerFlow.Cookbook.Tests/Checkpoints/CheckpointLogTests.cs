using System.Text.Json;
using TinkerFlow.Cookbook.Checkpoints;

namespace TinkerFlow.Cookbook.Tests.Checkpoints;

public class CheckpointLogTests
{
    [Fact]
    public async Task CheckpointLog_RoundTrip_KeepsFieldsExtrasAndSnakeCase()
    {
        using var log = new TempLogDirectory();
        var state = new LoopState(Epoch: 1, Batch: 3, Step: 13)
        {
            ElapsedTokens = 12345,
            RngSeed = 7,
            RngState = ulong.MaxValue - 1,
            Extra = new Dictionary<string, JsonElement> { ["renderer_name"] = JsonSerializer.SerializeToElement("qwen3") },
        };
        var periodic = CheckpointRecord.FromLoopState("000013", state, CheckpointKind.Periodic, "tinker://r/weights/000013", "tinker://r/sampler_weights/000013");
        var rolling = CheckpointRecord.FromLoopState("rolling-000014", state with { Step = 14 }, CheckpointKind.Rolling, "tinker://r/weights/rolling-000014", null);

        await CheckpointLog.AppendAsync(log.Path, periodic);
        await CheckpointLog.AppendAsync(log.Path, rolling);
        var records = CheckpointLog.ReadRecords(log.Path);
        var lines = File.ReadAllLines(CheckpointLog.PathFor(log.Path));

        Assert.Equal(2, records.Count);
        Assert.Equal(state with { Extra = null }, records[0].LoopState with { Extra = null });
        Assert.Equal("qwen3", records[0].Extra!["renderer_name"].GetString());
        Assert.Equal("tinker://r/sampler_weights/000013", records[0].SamplerPath);
        Assert.Null(records[0].Rolling);
        Assert.True(records[1].Rolling);
        Assert.Null(records[1].SamplerPath);
        Assert.Contains("\"state_path\":", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"renderer_name\":\"qwen3\"", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("sampler_path", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("{\"name\":\"000013\",\"batch\":3,\"epoch\":1,\"final\":false,", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckpointLog_GetLastCheckpoint_PicksLastWithRequiredPath()
    {
        using var log = new TempLogDirectory();
        await CheckpointLog.AppendAsync(log.Path, new CheckpointRecord { Name = "a", StatePath = "tinker://r/weights/a", SamplerPath = "tinker://r/sampler_weights/a" });
        await CheckpointLog.AppendAsync(log.Path, new CheckpointRecord { Name = "b", StatePath = "tinker://r/weights/b", Rolling = true });
        await CheckpointLog.AppendAsync(log.Path, new CheckpointRecord { Name = "c", SamplerPath = "tinker://r/sampler_weights/c" });

        Assert.Equal("b", CheckpointLog.GetLastCheckpoint(log.Path)?.Name);
        Assert.Equal("c", CheckpointLog.GetLastCheckpoint(log.Path, requireSamplerPath: true)?.Name);
    }

    [Fact]
    public void CheckpointLog_NoFile_HasNoCheckpoint()
    {
        using var log = new TempLogDirectory();

        Assert.Empty(CheckpointLog.ReadRecords(log.Path));
        Assert.Null(CheckpointLog.GetLastCheckpoint(log.Path));
    }

    [Fact]
    public async Task CheckpointLog_CorruptLine_NamesFileAndLine()
    {
        using var log = new TempLogDirectory();
        await CheckpointLog.AppendAsync(log.Path, new CheckpointRecord { Name = "a", StatePath = "tinker://r/weights/a" });
        await File.AppendAllTextAsync(CheckpointLog.PathFor(log.Path), "{\"name\":\n");

        var ex = Assert.Throws<FormatException>(() => CheckpointLog.ReadRecords(log.Path));

        Assert.Contains("checkpoints.jsonl:2", ex.Message, StringComparison.Ordinal);
    }
}
