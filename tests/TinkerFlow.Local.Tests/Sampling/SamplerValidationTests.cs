using TinkerFlow.Local.Sampling;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;
using static TinkerFlow.Local.Tests.Sampling.SamplerFixture;

namespace TinkerFlow.Local.Tests.Sampling;

[Collection("Torch")]
public sealed class SamplerValidationTests
{
    private readonly Sampler _sampler = new();

    [Theory]
    [InlineData(0)]
    [InlineData(Sampler.MaxNumSamples + 1)]
    public void Sampler_RejectsNumSamplesOutOfRange(int numSamples)
    {
        using var model = TinyLm();
        var error = Assert.Throws<TinkerUserInputException>(
            () => _sampler.Sample(model, null, Prompt, numSamples, new SamplingParams { MaxTokens = 1 }));
        Assert.Equal($"num_samples must be between 1 and {Sampler.MaxNumSamples}, got {numSamples}.", error.Message);
    }

    [Fact]
    public void Sampler_RejectsPromptPlusMaxTokensBeyondContext()
    {
        using var model = TinyLm(maxPositions: 16);
        int[] prompt = [.. Enumerable.Range(0, 10)];

        var overflow = Assert.Throws<TinkerUserInputException>(
            () => _sampler.Sample(model, null, prompt, 1, new SamplingParams { MaxTokens = 7 }));
        var full = Assert.Throws<TinkerUserInputException>(
            () => _sampler.Sample(model, null, [.. Enumerable.Range(0, 16)], 1, new SamplingParams()));
        var fits = _sampler.Sample(model, null, prompt, 1, new SamplingParams { MaxTokens = 6, Seed = 1 });

        Assert.Equal(
            "the prompt (10 tokens) plus max_tokens (7) exceeds the model's context of 16 tokens; use max_tokens <= 6 or a shorter prompt.",
            overflow.Message);
        Assert.Contains("fills the model's context of 16 tokens", full.Message, StringComparison.Ordinal);
        Assert.Equal(6, fits.Sequences[0].Tokens.Count);
    }

    [Fact]
    public void Sampler_RejectsEmptyPromptAndNegativeTopk()
    {
        using var model = TinyLm();
        var empty = Assert.Throws<TinkerUserInputException>(
            () => _sampler.Sample(model, null, [], 1, new SamplingParams { MaxTokens = 1 }));
        var topk = Assert.Throws<TinkerUserInputException>(
            () => _sampler.Sample(model, null, Prompt, 1, new SamplingParams { MaxTokens = 1 }, topkPromptLogprobs: -1));

        Assert.Contains("prompt is empty", empty.Message, StringComparison.Ordinal);
        Assert.Contains("topk_prompt_logprobs must be >= 0", topk.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sampler_StopStringsNeedADecoder()
    {
        using var model = TinyLm();
        var error = Assert.Throws<TinkerUserInputException>(
            () => _sampler.Sample(model, null, Prompt, 1, new SamplingParams { MaxTokens = 3, Stop = "\n" }));
        Assert.Contains("no tokenizer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sampler_TopkPromptLogprobsAboveVocabAreCapped()
    {
        using var model = TinyLm();
        var response = _sampler.Sample(model, null, Prompt, 1, new SamplingParams { MaxTokens = 1 }, topkPromptLogprobs: Vocab + 10);
        Assert.All(response.TopkPromptLogprobs!.Skip(1), alternatives => Assert.Equal(Vocab, alternatives!.Count));
    }

    [Fact]
    public void Sampler_HonoursCancellation()
    {
        using var model = TinyLm();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(
            () => _sampler.Sample(model, null, Prompt, 2, new SamplingParams { MaxTokens = 4 }, cancellationToken: cancelled.Token));
    }
}
