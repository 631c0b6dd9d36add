using TinkerFlow.Cookbook.Supervised;
using TinkerFlow.Dataflow;
using TinkerFlow.Cookbook.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Tests.Supervised;

public class NllMetricsTests
{
    private static Datum Make(long[] targets, float[] weights) => new()
    {
        ModelInput = ModelInput.FromInts(Enumerable.Repeat(1, targets.Length)),
        LossFnInputs = new Dictionary<string, TensorData>
        {
            ["target_tokens"] = TensorData.FromInt64(targets),
            ["weights"] = TensorData.FromFloat32(weights),
        },
    };

    private static IReadOnlyDictionary<string, TensorData> Logprobs(params float[] values) =>
        new Dictionary<string, TensorData> { ["logprobs"] = TensorData.FromFloat32(values) };

    [Fact]
    public void MeanNll_IsWeightedAverageOverBatch()
    {
        Datum[] data = [Make([1, 2], [1, 0.5f]), Make([3], [0.5f])];

        var nll = NllMetrics.MeanNll([Logprobs(-1, -2), Logprobs(-4)], data);

        // −(1·−1 + 0.5·−2 + 0.5·−4) / (1 + 0.5 + 0.5) = 4 / 2
        Assert.Equal(2.0, nll, 6);
    }

    [Fact]
    public void BitsPerByte_HandExample_CountsUtf8BytesOfTrainedNonSpecialTokens()
    {
        var tokenizer = FakeTokenizer.Qwen3();
        var imEnd = tokenizer.TokenToId("<|im_end|>")!.Value;
        // Targets: 'a', 0xC3 0xA9 ('é' split over two byte tokens), untrained 'x', trained 'b', trained special <|im_end|>.
        var datum = Make([0x61, 0xC3, 0xA9, 0x78, 0x62, imEnd], [1, 1, 1, 0, 1, 1]);

        var bpb = NllMetrics.BitsPerByte([Logprobs(-1, -2, -3, -100, -0.5f, -7)], [datum], tokenizer, new HashSet<int> { imEnd });

        // Counted: a, é (2 bytes), b → 4 bytes; −Σ logp = 1 + 2 + 3 + 0.5 = 6.5 nats.
        Assert.Equal(6.5 / (Math.Log(2) * 4), bpb, 9);
    }

    [Fact]
    public void BitsPerByte_WithoutExclusions_CountsSpecialText()
    {
        var tokenizer = FakeTokenizer.Qwen3();
        var imEnd = tokenizer.TokenToId("<|im_end|>")!.Value;
        var datum = Make([0x61, imEnd], [1, 1]);

        var bpb = NllMetrics.BitsPerByte([Logprobs(-1, -1)], [datum], tokenizer);

        Assert.Equal(2 / (Math.Log(2) * (1 + "<|im_end|>".Length)), bpb, 9);
    }

    [Fact]
    public void MeanNll_MismatchedCounts_Throws()
    {
        Assert.Throws<ArgumentException>(() => NllMetrics.MeanNll([Logprobs(-1)], [Make([1], [1]), Make([2], [1])]));
    }
}
