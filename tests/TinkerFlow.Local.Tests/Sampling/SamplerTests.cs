using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Sampling;
using TinkerFlow.Local.Training;
using TinkerFlow.Types;
using TorchSharp;
using static TinkerFlow.Local.Tests.Sampling.SamplerFixture;

namespace TinkerFlow.Local.Tests.Sampling;

[Collection("Torch")]
public sealed class SamplerTests
{
    private readonly Sampler _sampler = new();

    [Fact]
    public void Sampler_SameSeedSameTokens()
    {
        using var model = TinyLm();
        var parameters = new SamplingParams { MaxTokens = 8, Seed = 1234, Temperature = 1 };

        var first = _sampler.Sample(model, null, Prompt, 4, parameters);
        var second = _sampler.Sample(model, null, Prompt, 4, parameters);
        var otherSeed = _sampler.Sample(model, null, Prompt, 4, parameters with { Seed = 1235 });

        Assert.Equal(4, first.Sequences.Count);
        for (int r = 0; r < 4; r++)
        {
            Assert.Equal(first.Sequences[r].Tokens, second.Sequences[r].Tokens);
            Assert.Equal(first.Sequences[r].Logprobs, second.Sequences[r].Logprobs);
        }
        Assert.NotEqual(
            first.Sequences.SelectMany(s => s.Tokens).ToArray(),
            otherSeed.Sequences.SelectMany(s => s.Tokens).ToArray());
        // Four samples of the same prompt are independent draws, not copies.
        Assert.True(first.Sequences.Select(s => Decode(s.Tokens)).Distinct().Count() > 1);
    }

    [Fact]
    public void Sampler_GreedyIsDeterministicAndMatchesArgmaxOfFullForward()
    {
        using var model = TinyLm();
        var parameters = new SamplingParams { MaxTokens = 12, Temperature = 0 };

        var first = _sampler.Sample(model, null, Prompt, 1, parameters).Sequences[0];
        var second = _sampler.Sample(model, null, Prompt, 1, parameters).Sequences[0];
        var expected = GreedyByFullForward(model, Prompt, 12);

        Assert.Equal(expected, first.Tokens);
        Assert.Equal(first.Tokens, second.Tokens);
        Assert.Equal(StopReason.Length, first.StopReason);
    }

    [Fact]
    public void Sampler_StopsAtStopToken()
    {
        using var model = TinyLm();
        var parameters = new SamplingParams { MaxTokens = 12, Seed = 5, Temperature = 1 };
        var reference = _sampler.Sample(model, null, Prompt, 1, parameters).Sequences[0].Tokens;
        int stop = reference[4];
        int end = reference.ToList().IndexOf(stop) + 1;

        var stopped = _sampler.Sample(model, null, Prompt, 1, parameters with { Stop = new[] { stop, Vocab + 3 } }).Sequences[0];
        var viaEos = _sampler.Sample(model, null, Prompt, 1, parameters, eosTokenId: stop).Sequences[0];

        Assert.Equal(StopReason.Stop, stopped.StopReason);
        Assert.Equal(reference.Take(end), stopped.Tokens);              // the stop token is returned
        Assert.Equal(stop, stopped.Tokens[^1]);
        Assert.Equal(end, stopped.Logprobs!.Count);
        Assert.Equal(StopReason.Stop, viaEos.StopReason);
        Assert.Equal(stopped.Tokens, viaEos.Tokens);
    }

    [Fact]
    public void Sampler_StopsAtStopString()
    {
        using var model = TinyLm();
        var parameters = new SamplingParams { MaxTokens = 16, Seed = 11, Temperature = 1 };
        var reference = _sampler.Sample(model, null, Prompt, 1, parameters).Sequences[0].Tokens;
        string stop = Decode(reference).Substring(5, 2);                  // spans two tokens
        int end = Enumerable.Range(1, reference.Count).First(n => Decode(reference.Take(n).ToList()).Contains(stop, StringComparison.Ordinal));

        var stopped = _sampler.Sample(
            model, null, Prompt, 1, parameters with { Stop = new[] { "never-there", stop } }, decode: Decode).Sequences[0];

        Assert.Equal(StopReason.Stop, stopped.StopReason);
        Assert.Equal(reference.Take(end), stopped.Tokens);              // up to and including the completing token
        Assert.EndsWith(stop, Decode(stopped.Tokens), StringComparison.Ordinal);
    }

    [Fact]
    public void Sampler_TopKRestrictsSupport()
    {
        using var model = TinyLm();
        var parameters = new SamplingParams { MaxTokens = 1, Seed = 3, Temperature = 1.5, TopK = 2 };

        var response = _sampler.Sample(model, null, Prompt, 300, parameters);
        var firstTokens = response.Sequences.Select(s => s.Tokens[0]).ToHashSet();
        var topTwo = Ranked(NextLogprobs(model, Prompt)).Take(2).ToHashSet();

        Assert.True(firstTokens.SetEquals(topTwo), $"sampled {{{string.Join(", ", firstTokens)}}}, top-2 {{{string.Join(", ", topTwo)}}}");
    }

    [Fact]
    public void Sampler_TopPRestrictsSupport()
    {
        using var model = TinyLm();
        const double topP = 0.5;
        var next = NextLogprobs(model, Prompt);
        var ranked = Ranked(next);
        var nucleus = new HashSet<int>();
        double before = 0;
        foreach (int id in ranked)
        {
            if (before >= topP)
            {
                break;
            }
            nucleus.Add(id);
            before += Math.Exp(next[id]);
        }

        var sampled = _sampler.Sample(model, null, Prompt, 400, new SamplingParams { MaxTokens = 1, Seed = 9, TopP = topP })
            .Sequences.Select(s => s.Tokens[0]).ToHashSet();
        var tiny = _sampler.Sample(model, null, Prompt, 50, new SamplingParams { MaxTokens = 1, Seed = 9, TopP = 1e-4 })
            .Sequences.Select(s => s.Tokens[0]).ToHashSet();

        Assert.InRange(nucleus.Count, 2, Vocab - 1);
        Assert.Subset(nucleus, sampled);
        Assert.True(sampled.Count > 1, "a nucleus of several tokens should yield several distinct draws");
        Assert.Equal([ranked[0]], tiny);                                  // the top token always stays
    }

    [Fact]
    public void Sampler_LogprobsMatchComputeLogprobs()
    {
        using var model = TinyLm();
        // Temperature 0.8 and top-k 20: the returned logprobs are still those of the raw (T = 1, unfiltered) logits.
        // The stop ids make rows end at different steps, so live rows are decoded next to finished ones.
        var parameters = new SamplingParams
        {
            MaxTokens = 10, Seed = 21, Temperature = 0.8, TopK = 20, Stop = Enumerable.Range(0, 10).ToArray(),
        };
        var response = _sampler.Sample(model, null, Prompt, 6, parameters);

        double maxDiff = 0;
        foreach (var sequence in response.Sequences)
        {
            int[] full = [.. Prompt, .. sequence.Tokens];
            var scored = _sampler.Sample(model, null, full, 1, new SamplingParams { MaxTokens = 1 }, promptLogprobs: true);
            Assert.Equal(sequence.Tokens.Count, sequence.Logprobs!.Count);
            for (int i = 0; i < sequence.Tokens.Count; i++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(sequence.Logprobs[i] - scored.PromptLogprobs![Prompt.Length + i]!.Value));
            }
        }
        Assert.True(maxDiff < 1e-4, $"max |sampled - scored| = {maxDiff}");
        Assert.True(response.Sequences.Select(s => s.Tokens.Count).Distinct().Count() > 1, "rows should finish at different steps");
    }

    [Fact]
    public void Sampler_PromptLogprobsFirstIsNull()
    {
        using var model = TinyLm();
        var response = _sampler.Sample(model, null, Prompt, 1, new SamplingParams { MaxTokens = 1 }, promptLogprobs: true);
        var reference = FullLogprobs(model, Prompt);

        var logprobs = response.PromptLogprobs!;
        Assert.Equal(Prompt.Length, logprobs.Count);
        Assert.Null(logprobs[0]);
        for (int i = 1; i < Prompt.Length; i++)
        {
            Assert.InRange(Math.Abs(logprobs[i]!.Value - reference[i - 1, Prompt[i]]), 0, 1e-5);
        }
        Assert.Null(response.TopkPromptLogprobs);
        Assert.Single(response.Sequences[0].Tokens);                      // compute_logprobs shape: one sampled token
        Assert.Equal([null], _sampler.Sample(model, null, [Prompt[0]], 1, new SamplingParams { MaxTokens = 1 }, promptLogprobs: true).PromptLogprobs!);
    }

    [Fact]
    public void Sampler_TopkPromptLogprobsSortedAndMatch()
    {
        using var model = TinyLm();
        const int k = 5;
        var response = _sampler.Sample(model, null, Prompt, 1, new SamplingParams { MaxTokens = 1 }, topkPromptLogprobs: k);
        var reference = FullLogprobs(model, Prompt);

        var topk = response.TopkPromptLogprobs!;
        Assert.Null(response.PromptLogprobs);
        Assert.Equal(Prompt.Length, topk.Count);
        Assert.Null(topk[0]);
        for (int i = 1; i < Prompt.Length; i++)
        {
            var row = Enumerable.Range(0, Vocab).Select(v => reference[i - 1, v]).ToArray();
            var expectedIds = Ranked(row).Take(k).ToArray();
            var alternatives = topk[i]!;
            Assert.Equal(expectedIds, alternatives.Select(a => a.TokenId));
            Assert.True(alternatives.Zip(alternatives.Skip(1)).All(p => p.First.Logprob >= p.Second.Logprob));
            Assert.All(alternatives, a => Assert.InRange(Math.Abs(a.Logprob - row[a.TokenId]), 0, 1e-5));
        }
    }

    [Fact]
    public void Sampler_MaxTokensGivesLengthStopReason()
    {
        using var model = TinyLm();
        var response = _sampler.Sample(model, null, Prompt, 3, new SamplingParams { MaxTokens = 5, Seed = 2 });

        Assert.Equal(3, response.Sequences.Count);
        Assert.All(response.Sequences, s =>
        {
            Assert.Equal(StopReason.Length, s.StopReason);
            Assert.Equal(5, s.Tokens.Count);
            Assert.Equal(5, s.Logprobs!.Count);
            Assert.All(s.Tokens, t => Assert.InRange(t, 0, Vocab - 1));
            Assert.All(s.Logprobs, lp => Assert.InRange(lp, double.NegativeInfinity, 0));
        });
        Assert.Equal(0, response.PromptCacheHitTokens);
    }

    [Fact]
    public void Sampler_DefaultMaxTokensIsBoundedByContext()
    {
        using var model = TinyLm(maxPositions: 32);
        int[] longPrompt = [.. Enumerable.Range(0, 29).Select(i => (i * 7) % Vocab)];

        var shortRun = _sampler.Sample(model, null, Prompt, 1, new SamplingParams { Seed = 1 }).Sequences[0];
        var longRun = _sampler.Sample(model, null, longPrompt, 1, new SamplingParams { Seed = 1 }).Sequences[0];

        Assert.Equal(Sampler.DefaultMaxTokens, shortRun.Tokens.Count);
        Assert.Equal(3, longRun.Tokens.Count);
        Assert.Equal(StopReason.Length, longRun.StopReason);
    }

    [Fact]
    public void Sampler_BatchedSamplesMatchSequentialWithGreedy()
    {
        using var model = TinyLm();
        var parameters = new SamplingParams { MaxTokens = 10, Temperature = 0 };

        var single = _sampler.Sample(model, null, Prompt, 1, parameters).Sequences[0];
        var batched = _sampler.Sample(model, null, Prompt, 5, parameters).Sequences;

        Assert.Equal(5, batched.Count);
        Assert.All(batched, s =>
        {
            Assert.Equal(single.Tokens, s.Tokens);
            Assert.Equal(single.StopReason, s.StopReason);
            Assert.All(s.Logprobs!.Zip(single.Logprobs!), p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 1e-5));
        });
    }

    [Fact]
    public void Sampler_UsesTheAdapterInPrefillAndDecode()
    {
        using var model = TinyLm();
        using var adapter = LoraAdapter.Create(model, new LoraAdapterOptions { Rank = 4, Seed = 1 });
        using (torch.no_grad())
        {
            using var generator = new torch.Generator(99, torch.CPU);
            foreach (var parameter in adapter.Parameters())
            {
                parameter.normal_(0, 0.3, generator);
            }
        }
        var parameters = new SamplingParams { MaxTokens = 8, Temperature = 0 };

        var adapted = _sampler.Sample(model, adapter, Prompt, 3, parameters).Sequences;
        var expected = GreedyByFullForward(model, Prompt, 8, adapter);

        Assert.All(adapted, s => Assert.Equal(expected, s.Tokens));
        Assert.NotEqual(GreedyByFullForward(model, Prompt, 8), expected);
    }

    [Fact]
    public void Sampler_RejectsOutOfVocabPrompt()
    {
        using var model = TinyLm();

        var tooLarge = Assert.Throws<TinkerUserInputException>(
            () => _sampler.Sample(model, null, [1, Vocab, 2], 1, new SamplingParams { MaxTokens = 1 }));
        var negative = Assert.Throws<TinkerUserInputException>(
            () => _sampler.Sample(model, null, [-1], 1, new SamplingParams { MaxTokens = 1 }));

        Assert.Contains($"prompt token {Vocab} at position 1", tooLarge.Message, StringComparison.Ordinal);
        Assert.Contains($"[0, {Vocab})", tooLarge.Message, StringComparison.Ordinal);
        Assert.Contains("prompt token -1", negative.Message, StringComparison.Ordinal);
    }
}
