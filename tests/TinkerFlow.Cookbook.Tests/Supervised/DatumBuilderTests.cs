using TinkerFlow.Cookbook.Renderers;
using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Cookbook.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Supervised;

public class DatumBuilderTests
{
    [Fact]
    public void FromModelInputWeights_ShiftsTokensTargetsAndWeights()
    {
        var datum = DatumBuilder.FromModelInputWeights(ModelInput.FromInts([1, 2, 3, 4, 5]), [0, 0, 1, 1, 1], reduction: Reduction.Sum);

        Assert.Equal([1, 2, 3, 4], datum.ModelInput.ToInts());
        Assert.Equal([2L, 3, 4, 5], datum.LossFnInputs["target_tokens"].ToInt64Array());
        Assert.Equal([0f, 1, 1, 1], datum.LossFnInputs["weights"].ToFloat32Array());
        Assert.Equal(TensorDType.Int64, datum.LossFnInputs["target_tokens"].Dtype);
        Assert.Equal(TensorDType.Float32, datum.LossFnInputs["weights"].Dtype);
    }

    [Fact]
    public void FromModelInputWeights_MeanReduction_WeightsSumToOne()
    {
        var datum = DatumBuilder.FromModelInputWeights(ModelInput.FromInts([1, 2, 3, 4, 5]), [1, 0, 1, 1, 1]);

        var weights = datum.LossFnInputs["weights"].ToFloat32Array();
        Assert.Equal([0f, 1 / 3f, 1 / 3f, 1 / 3f], weights);
        Assert.Equal(1.0, weights.Sum(), 6);
    }

    [Fact]
    public void FromModelInputWeights_MeanReductionWithNoTrainedTokens_KeepsZeros()
    {
        var datum = DatumBuilder.FromModelInputWeights(ModelInput.FromInts([1, 2, 3]), [1, 0, 0]);

        Assert.Equal([0f, 0f], datum.LossFnInputs["weights"].ToFloat32Array());
    }

    [Fact]
    public void FromModelInputWeights_RightTruncatesBeforeShift()
    {
        var datum = DatumBuilder.FromModelInputWeights(ModelInput.FromInts([1, 2, 3, 4, 5]), [0, 1, 1, 1, 1], maxLength: 3, Reduction.Sum);

        Assert.Equal([1, 2], datum.ModelInput.ToInts());
        Assert.Equal([2L, 3], datum.LossFnInputs["target_tokens"].ToInt64Array());
        Assert.Equal([1f, 1f], datum.LossFnInputs["weights"].ToFloat32Array());
    }

    [Fact]
    public void FromModelInputWeights_ImageCrossingLimitIsDroppedWhole()
    {
        var image = new ImageChunk { Data = [1, 2, 3], Format = "png", ExpectedTokens = 3 };
        var input = new ModelInput { Chunks = [new EncodedTextChunk([1, 2]), image, new EncodedTextChunk([7, 8])] };

        var datum = DatumBuilder.FromModelInputWeights(input, [1, 1, 1, 1, 1, 1, 1], maxLength: 4, Reduction.Sum);

        Assert.Equal([1], datum.ModelInput.ToInts());
        Assert.Equal([2L], datum.LossFnInputs["target_tokens"].ToInt64Array());
    }

    [Fact]
    public void FromModelInputWeights_ImagePositionsGetTargetZero()
    {
        var image = new ImageChunk { Data = [9], Format = "png", ExpectedTokens = 2 };
        var input = new ModelInput { Chunks = [new EncodedTextChunk([1]), image, new EncodedTextChunk([7, 8])] };

        var datum = DatumBuilder.FromModelInputWeights(input, [0, 0, 0, 1, 1], reduction: Reduction.Sum);

        Assert.Equal(4, datum.ModelInput.Length);
        Assert.Equal(3, datum.ModelInput.Chunks.Count);
        Assert.Equal([0L, 0, 7, 8], datum.LossFnInputs["target_tokens"].ToInt64Array());
        Assert.Equal([0f, 0, 1, 1], datum.LossFnInputs["weights"].ToFloat32Array());
    }

    [Fact]
    public void FromModelInputWeights_WrongWeightCount_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => DatumBuilder.FromModelInputWeights(ModelInput.FromInts([1, 2, 3]), [1, 1]));

        Assert.Contains("one weight per position", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConversationToDatum_DefaultsToAllAssistantMessagesWithMeanReduction()
    {
        var renderer = new Qwen3Renderer(FakeTokenizer.Qwen3());
        IReadOnlyList<Message> messages = [Message.User("a"), Message.Assistant("bc"), Message.User("d"), Message.Assistant("e")];

        var datum = DatumBuilder.ConversationToDatum(renderer, messages);
        var (input, weights) = renderer.BuildSupervisedExample(messages, TrainOnWhat.AllAssistantMessages);

        var expected = weights[1..].Select(w => w / weights.Sum()).ToArray();
        Assert.Equal(input.ToInts()[..^1], datum.ModelInput.ToInts());
        Assert.Equal(expected, datum.LossFnInputs["weights"].ToFloat32Array());
        Assert.Equal(5f, weights.Sum());
    }
}
