using TinkerFlow.Cookbook.Data;
using TinkerFlow.Cookbook.Evaluation;
using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Cookbook.Tests.Fakes;

namespace TinkerFlow.Cookbook.Tests.Evaluation;

public class NllEvaluatorTests
{
    [Fact]
    public async Task NllEvaluator_OneForwardOverTestSet_ReportsNllAndBpb()
    {
        var renderer = new Qwen3Renderer(FakeTokenizer.Qwen3());
        IReadOnlyList<IReadOnlyList<Message>> rows = [[Message.User("q"), Message.Assistant("ab")], [Message.User("r"), Message.Assistant("cde")]];
        var dataset = new ConversationDataset(rows, batchSize: 2, m => DatumBuilder.ConversationToDatum(renderer, m, reduction: Reduction.Sum), shuffle: false);
        var client = new FakeTrainingClient { ForwardLogprobs = data => [.. data.Select(d => Enumerable.Repeat(-2f, d.ModelInput.Length).ToArray())] };

        var metrics = await NllEvaluator.FromDataset(dataset, renderer).EvaluateAsync(client);

        // Every trained target (content bytes + <|im_end|>) has logprob −2; bpb counts the 5 content bytes only.
        Assert.Single(client.ForwardCalls);
        Assert.Equal(2, client.ForwardCalls[0].Count);
        Assert.Equal(2.0, metrics["test/nll"], 6);
        Assert.Equal(2.0 * 5 / (Math.Log(2) * 5), metrics["test/bpb"], 6);
    }

    [Fact]
    public void NllEvaluator_EmptyTestSet_Throws()
    {
        Assert.Throws<ArgumentException>(() => new NllEvaluator([], FakeTokenizer.Qwen3()));
    }
}
