namespace TinkerFlow.Tests.Tokenization;

public class HuggingFaceTokenizerLlama3Tests
{
    private static HuggingFaceTokenizer Llama3 => TokenizerFixtures.Llama3;

    [Fact]
    public void Llama3_MatchesHuggingFaceReferenceIdsOnEveryCase()
    {
        IReadOnlyList<(string Text, int[] Ids)> cases = TokenizerFixtures.ReadReference("llama3");
        Assert.True(cases.Count >= 500, $"only {cases.Count} reference cases");

        List<string> failures = TokenizerFixtures.Mismatches(cases, text => Llama3.Encode(text));

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} differ:\n" + string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void Llama3_DecodeOfEncodeIsTheInput()
    {
        foreach ((string text, _) in TokenizerFixtures.ReadReference("llama3"))
        {
            Assert.Equal(text, Llama3.Decode(Llama3.Encode(text)));
        }
    }

    [Fact]
    public void Llama3_IgnoreMergesTakesWholeVocabularyEntries()
    {
        // "ĠĠĠĠĠĠĠĠ" style runs and long words that are vocabulary entries come out as one id, without merging.
        Assert.Equal([9906, 1917], Llama3.Encode("Hello world"));
        IReadOnlyList<int> spaces = Llama3.Encode("        x");
        Assert.Equal("        x", Llama3.Decode(spaces));
        Assert.True(spaces.Count <= 2);
    }

    [Fact]
    public void Llama3_ReadsConfigAndSpecialTokens()
    {
        Assert.Equal(128_256, Llama3.VocabSize);
        Assert.Equal(128_000, Llama3.BosTokenId);
        Assert.Equal(128_001, Llama3.EosTokenId);
        Assert.Equal(128_009, Llama3.TokenToId("<|eot_id|>"));
        Assert.Equal(256, Llama3.SpecialTokens.Count);
        Assert.Contains("<|start_header_id|>", Llama3.ChatTemplate);
        Assert.Equal([128_006, 882, 128_007], Llama3.Encode("<|start_header_id|>user<|end_header_id|>"));
        Assert.DoesNotContain(128_006, Llama3.Encode("<|start_header_id|>", allowSpecialTokens: false));
    }

    [Fact]
    public void Llama3_WithoutTemplateAddsNothingEvenWhenAsked()
    {
        // This revision's post_processor is ByteLevel alone: HF adds no BOS with add_special_tokens=True either.
        Assert.Equal(Llama3.Encode("Hello world"), Llama3.Encode("Hello world", allowSpecialTokens: true, addSpecialTokens: true));
    }

    [Fact]
    public void Llama3_TemplateProcessingAddsBosOnlyWhenAsked()
    {
        string directory = Path.Combine(Path.GetTempPath(), "tf-llama3-" + Guid.NewGuid().ToString("N"));
        try
        {
            TokenizerFixtures.WriteLlama3WithTemplate(directory);
            HuggingFaceTokenizer templated = HuggingFaceTokenizer.Load(directory);
            IReadOnlyList<(string Text, int[] Ids)> cases = TokenizerFixtures.ReadReference("llama3", "with_special_tokens");
            Assert.True(cases.Count >= 100);

            List<string> failures = TokenizerFixtures.Mismatches(cases, text => templated.Encode(text, allowSpecialTokens: true, addSpecialTokens: true));

            Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
            Assert.Equal([9906], templated.Encode("Hello"));
            Assert.Equal([128_000, 9906], templated.Encode("Hello", true, true));
            Assert.Equal([128_000], templated.Encode("", true, true));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
