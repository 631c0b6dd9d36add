using TinkerFlow.Local.Model;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>
/// Every size the engine benchmarks use, in one place: the full sizes of the figures and toy sizes for the
/// <c>--quick --smoke</c> harness check.
/// </summary>
internal sealed record BenchSizes
{
    /// <summary>The model: Qwen3-style (q/k norm, RoPE, SwiGLU, untied lm_head), float32.</summary>
    public required TransformerConfig Model { get; init; }

    /// <summary>forward_backward batch: sequences per step.</summary>
    public required int TrainBatch { get; init; }

    /// <summary>forward_backward batch: tokens per sequence.</summary>
    public required int TrainSequence { get; init; }

    /// <summary>LoRA rank (alpha = 2·rank), on q,k,v,o,gate,up,down (not lm_head).</summary>
    public required int LoraRank { get; init; }

    /// <summary>Un-timed training steps before measuring.</summary>
    public required int WarmupSteps { get; init; }

    /// <summary>Timed training steps (the median is reported).</summary>
    public required int MeasuredSteps { get; init; }

    /// <summary>Side of the square float32 torch.mm that measures the GEMM peak.</summary>
    public required int GemmSize { get; init; }

    /// <summary>Timed GEMM runs (the best is the peak).</summary>
    public required int GemmRuns { get; init; }

    /// <summary>Prompt length of the decode comparison.</summary>
    public required int DecodePrompt { get; init; }

    /// <summary>New tokens of the decode comparison.</summary>
    public required int DecodeNewTokens { get; init; }

    /// <summary>Prompt length of the sampling comparison.</summary>
    public required int SamplePrompt { get; init; }

    /// <summary>num_samples of the batched call (= number of sequential num_samples=1 calls).</summary>
    public required int SampleCount { get; init; }

    /// <summary>max_tokens of every sample.</summary>
    public required int SampleTokens { get; init; }

    /// <summary>True for the toy sizes.</summary>
    public bool IsSmoke { get; init; }

    /// <summary>The sizes: d 512, 4 layers, 8 heads (4 KV heads) of 64, SwiGLU 1536, vocab 4096.</summary>
    public static BenchSizes Full { get; } = new()
    {
        Model = new TransformerConfig
        {
            ModelType = "qwen3",
            HiddenSize = 512,
            IntermediateSize = 1536,
            NumHiddenLayers = 4,
            NumAttentionHeads = 8,
            NumKeyValueHeads = 4,
            HeadDim = 64,
            VocabSize = 4096,
            MaxPositionEmbeddings = 1024,
            TieWordEmbeddings = false,
        },
        TrainBatch = 8,
        TrainSequence = 256,
        LoraRank = 16,
        WarmupSteps = 2,
        MeasuredSteps = 5,
        GemmSize = 4096,
        GemmRuns = 4,
        DecodePrompt = 32,
        DecodeNewTokens = 256,
        SamplePrompt = 32,
        SampleCount = 16,
        SampleTokens = 64,
    };

    /// <summary>Toy sizes that only prove the harness runs end to end (seconds, numbers meaningless).</summary>
    public static BenchSizes Smoke { get; } = new()
    {
        Model = new TransformerConfig
        {
            ModelType = "qwen3",
            HiddenSize = 64,
            IntermediateSize = 192,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            HeadDim = 16,
            VocabSize = 256,
            MaxPositionEmbeddings = 256,
            TieWordEmbeddings = false,
        },
        TrainBatch = 2,
        TrainSequence = 32,
        LoraRank = 4,
        WarmupSteps = 1,
        MeasuredSteps = 2,
        GemmSize = 256,
        GemmRuns = 2,
        DecodePrompt = 8,
        DecodeNewTokens = 16,
        SamplePrompt = 8,
        SampleCount = 4,
        SampleTokens = 8,
        IsSmoke = true,
    };

    /// <summary>A one-line description of the model for context lines.</summary>
    public string DescribeModel() =>
        $"qwen3 d{Model.HiddenSize} x{Model.NumHiddenLayers} layers, {Model.NumAttentionHeads}/{Model.NumKeyValueHeads} heads of {Model.HeadDim}, "
        + $"SwiGLU {Model.IntermediateSize}, vocab {Model.VocabSize}, fp32";
}
