using TinkerFlow.Types;

namespace TinkerFlow.Tests.Types;

public class TinkerPathTests
{
    [Theory]
    [InlineData("tinker://sess-1:train:0/weights/step-1", "sess-1:train:0", CheckpointType.Training, "step-1", "weights/step-1")]
    [InlineData("tinker://run-1/sampler_weights/s-1", "run-1", CheckpointType.Sampler, "s-1", "sampler_weights/s-1")]
    public void TinkerPath_ParsesValidPaths(string path, string runId, CheckpointType type, string name, string checkpointId)
    {
        var parsed = ParsedCheckpointTinkerPath.FromTinkerPath(path);
        Assert.Equal(runId, parsed.TrainingRunId);
        Assert.Equal(type, parsed.CheckpointType);
        Assert.Equal(name, parsed.Name);
        Assert.Equal(checkpointId, parsed.CheckpointId);
        Assert.Equal(path, parsed.TinkerPath);
        Assert.Equal(path, parsed.ToString());
        Assert.Equal(path, ParsedCheckpointTinkerPath.Format(runId, type, name));
        Assert.Equal(parsed, ParsedCheckpointTinkerPath.FromCheckpointId(runId, checkpointId));
        Assert.True(ParsedCheckpointTinkerPath.TryParse(path, out var again));
        Assert.Equal(parsed, again);
    }

    [Theory]
    [InlineData("http://run-1/weights/a", "does not start with 'tinker://'")]
    [InlineData("run-1/weights/a", "does not start with 'tinker://'")]
    [InlineData("tinker://run-1/weights", "2 segment(s)")]
    [InlineData("tinker://run-1/weights/a/b", "4 segment(s)")]
    [InlineData("tinker://run-1/checkpoints/a", "unknown checkpoint kind 'checkpoints'")]
    [InlineData("tinker://run-1/weights/..", "bad checkpoint name")]
    [InlineData("tinker://../weights/a", "bad training run id")]
    [InlineData("tinker://run-1/weights/", "bad checkpoint name: the name is empty")]
    [InlineData("tinker:///weights/a", "bad training run id: the id is empty")]
    [InlineData("tinker://run-1/weights/a\u0000b", "control character")]
    public void TinkerPath_RejectsInvalidPaths(string path, string reason)
    {
        var ex = Assert.Throws<ArgumentException>(() => ParsedCheckpointTinkerPath.FromTinkerPath(path));
        Assert.Contains($"'{path}'", ex.Message);
        Assert.Contains(reason, ex.Message);
        Assert.Contains("tinker://<training_run_id>/weights/<name>", ex.Message);
        Assert.Contains("tinker://<training_run_id>/sampler_weights/<name>", ex.Message);
        Assert.False(ParsedCheckpointTinkerPath.TryParse(path, out var result));
        Assert.Null(result);
    }

    [Fact]
    public void TinkerPath_FormatValidatesParts()
    {
        Assert.Throws<ArgumentException>(() => ParsedCheckpointTinkerPath.Format("run", CheckpointType.Training, "a/b"));
        Assert.Throws<ArgumentException>(() => ParsedCheckpointTinkerPath.Format("", CheckpointType.Training, "a"));
        Assert.Throws<ArgumentException>(() => ParsedCheckpointTinkerPath.Create("run/x", CheckpointType.Sampler, "a"));
        Assert.Equal("sampler_weights", ParsedCheckpointTinkerPath.KindSegment(CheckpointType.Sampler));
        Assert.False(ParsedCheckpointTinkerPath.TryParse(null, out _));
    }
}
