using TinkerFlow.Local.Tests.Model;
using TinkerFlow.Local.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Tests.Training;

/// <summary>The sampler-facing half of the chunked LM head: target log-probs and top-k over several chunks.</summary>
[Collection("Torch")]
public sealed class ChunkedLmHeadTests
{
    [Fact]
    public void Logprobs_InSmallChunksMatchFullLogSoftmax()
    {
        using var model = TinyModels.Build(TinyModels.Qwen3());
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = TinyModels.Tokens(1, 11, model.Config.VocabSize);
        var hidden = model.model.forward(ids, null, null, null)[0];                          // (T, C)
        var targets = ids[0];                                                                // (T)
        var full = model.lm_head.forward(hidden).log_softmax(1);                             // (T, V)

        var (picked, topValues, topIds) = ChunkedLmHead.Logprobs(model.lm_head, null, hidden, targets, topk: 4, chunkElements: 2L * model.Config.VocabSize);

        var expectedPicked = full.gather(1, targets.unsqueeze(1)).squeeze(1);
        var (expectedValues, expectedIds) = full.topk(4, 1);
        Assert.True(TinyModels.MaxAbsDiff(expectedPicked, picked!) < 1e-6);
        Assert.True(TinyModels.MaxAbsDiff(expectedValues, topValues!) < 1e-6);
        Assert.Equal(expectedIds.data<long>().ToArray(), topIds!.data<long>().ToArray());
    }

    [Fact]
    public void Logprobs_WithoutTargetsOrTopkReturnsNothing()
    {
        using var model = TinyModels.Build(TinyModels.Llama());
        using var scope = NewDisposeScope();
        var hidden = torch.randn(5, model.Config.HiddenSize);
        var (picked, values, ids) = ChunkedLmHead.Logprobs(model.lm_head, null, hidden, null, topk: 0);
        Assert.Null(picked);
        Assert.Null(values);
        Assert.Null(ids);
    }

    [Fact]
    public void RowsPerChunk_KeepsAtLeastOneRowForHugeVocabularies()
    {
        Assert.Equal(1, ChunkedLmHead.RowsPerChunk(vocab: 1L << 30));
        Assert.Equal(110, ChunkedLmHead.RowsPerChunk(vocab: 151_936));
    }
}
