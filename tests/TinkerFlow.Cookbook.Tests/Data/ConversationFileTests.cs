using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Renderers;

namespace TinkerFlow.Cookbook.Tests.Data;

public class ConversationFileTests
{
    [Fact]
    public void ConversationFile_Parse_ReadsStringAndPartContentAndTrainable()
    {
        const string jsonl = """
            {"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello","trainable":true}]}

            {"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}
            """;

        var rows = ConversationFile.Parse(new StringReader(jsonl));

        Assert.Equal(2, rows.Count);
        Assert.Equal([Message.User("hi"), Message.Assistant("hello") with { Trainable = true }], rows[0]);
        Assert.Equal([Message.User("ab")], rows[1]);
    }

    [Fact]
    public void ConversationFile_Parse_MalformedLine_NamesLine()
    {
        const string jsonl = "{\"messages\":[{\"role\":\"user\",\"content\":\"ok\"}]}\n{\"msgs\":[]}\n";

        var ex = Assert.Throws<FormatException>(() => ConversationFile.Parse(new StringReader(jsonl), "train.jsonl"));

        Assert.StartsWith("train.jsonl:2:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConversationFile_Split_IsDeterministicDisjointAndComplete()
    {
        var rows = Enumerable.Range(0, 20).ToList();

        var (train, test) = ConversationFile.Split(rows, testSize: 5, shuffleSeed: 3);
        var (train2, test2) = ConversationFile.Split(rows, testSize: 5, shuffleSeed: 3);
        var (_, test3) = ConversationFile.Split(rows, testSize: 5, shuffleSeed: 4);

        Assert.Equal(5, test.Count);
        Assert.Equal(15, train.Count);
        Assert.Equal(train, train2);
        Assert.Equal(test, test2);
        Assert.NotEqual(test, test3);
        Assert.Equal(rows, train.Concat(test).Order());
    }

    [Fact]
    public void ConversationFile_SplitWithoutTestSize_KeepsFileOrder()
    {
        var rows = Enumerable.Range(0, 4).ToList();

        var (train, test) = ConversationFile.Split(rows, testSize: 0);

        Assert.Equal(rows, train);
        Assert.Empty(test);
    }

    [Fact]
    public void ConversationFile_Load_MissingFile_NamesPath()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => ConversationFile.Load("/nonexistent/x.jsonl"));

        Assert.Contains("/nonexistent/x.jsonl", ex.Message, StringComparison.Ordinal);
    }
}
