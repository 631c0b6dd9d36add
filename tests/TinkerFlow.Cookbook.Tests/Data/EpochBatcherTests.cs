using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Tests.Fakes;

namespace TinkerFlow.Cookbook.Tests.Data;

public class EpochBatcherTests
{
    [Fact]
    public void EpochBatcher_DropsLastPartialBatchAndCoversDistinctRows()
    {
        var batcher = new EpochBatcher(rowCount: 10, batchSize: 3);

        var rows = Enumerable.Range(0, batcher.Count).SelectMany(batcher.GetRowIndices).ToList();

        Assert.Equal(3, batcher.Count);
        Assert.Equal(9, rows.Distinct().Count());
        Assert.Throws<ArgumentOutOfRangeException>(() => batcher.GetRowIndices(3));
    }

    [Fact]
    public void EpochBatcher_OrderIsFunctionOfEpochOnly()
    {
        var a = new EpochBatcher(100, 10);
        var b = new EpochBatcher(100, 10);

        a.SetEpoch(1);
        var epoch1 = a.GetRowIndices(4);
        a.SetEpoch(2);
        var epoch2 = a.GetRowIndices(4);
        b.SetEpoch(2);
        b.SetEpoch(1);

        Assert.Equal(epoch1, b.GetRowIndices(4));
        Assert.NotEqual(epoch1, epoch2);
        Assert.Equal(SeededRandom.Permutation(100, 1)[40..50], epoch1);
    }

    [Fact]
    public void EpochBatcher_NoShuffle_KeepsRowOrderEveryEpoch()
    {
        var batcher = new EpochBatcher(6, 2, shuffle: false);
        batcher.SetEpoch(3);

        Assert.Equal([2, 3], batcher.GetRowIndices(1));
    }

    [Fact]
    public void ConversationFileBuilder_Build_SplitsBatchesAndRenders()
    {
        var path = Path.Combine(Path.GetTempPath(), $"cookbook-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, 11).Select(i =>
            $$"""{"messages":[{"role":"user","content":"q{{i}}"},{"role":"assistant","content":"a{{i}}"}]}"""));
        try
        {
            var renderer = new Qwen3Renderer(FakeTokenizer.Qwen3());
            var builder = new ConversationFileBuilder { FilePath = path, BatchSize = 4, TestSize = 2, ShuffleSeed = 0 };

            var (train, test) = builder.Build(renderer);
            var batch = train.GetBatch(1);

            Assert.Equal(2, train.Count);
            Assert.NotNull(test);
            Assert.Equal(1, test.Count);
            Assert.Equal(2, test.GetBatch(0).Count);
            Assert.Equal(4, batch.Count);
            Assert.All(batch, d => Assert.Equal(1.0, d.LossFnInputs["weights"].ToFloat32Array().Sum(), 5));
            Assert.Empty(train.Conversations.Select(c => c[0].Content).Intersect(test.Conversations.Select(c => c[0].Content)));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
