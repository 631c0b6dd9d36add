using System.Text;
using TinkerFlow.Tokenization;

namespace TinkerFlow.Tests.Tokenization;

public class HfTokenizerQwen3Tests
{
    private static HfTokenizer Qwen3 => TokenizerFixtures.Qwen3.Inner;

    [Fact]
    public void Qwen3_EncodesKnownIds()
    {
        Assert.Equal([9707, 11, 1879, 0, 220, 16, 17, 18], Qwen3.Encode("Hello, world! 123"));
        Assert.Equal([151644], Qwen3.Encode("<|im_start|>"));
    }

    [Fact]
    public void Qwen3_MatchesHuggingFaceReferenceIds()
    {
        IReadOnlyList<(string Text, int[] Ids)> cases = TokenizerFixtures.ReadReference("qwen3");
        Assert.True(cases.Count >= 500, $"only {cases.Count} reference cases");

        List<string> failures = TokenizerFixtures.Mismatches(cases, text => Qwen3.Encode(text));

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} differ:\n" + string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void Qwen3_DecodeOfEncodeIsNfcOfInput()
    {
        foreach ((string text, _) in TokenizerFixtures.ReadReference("qwen3"))
        {
            Assert.Equal(text.Normalize(NormalizationForm.FormC), Qwen3.Decode(Qwen3.Encode(text)));
        }
    }

    [Fact]
    public void Qwen3_AddSpecialTokensAddsNothing()
    {
        // Qwen3's post_processor is ByteLevel alone (no BOS), as in HF add_special_tokens=True.
        Assert.Equal(Qwen3.Encode("Hello"), TokenizerFixtures.Qwen3.Encode("Hello", allowSpecialTokens: true, addSpecialTokens: true));
    }

    [Fact]
    public void Qwen3_ReadsConfigAndSpecialTokens()
    {
        Assert.Equal(151_669, Qwen3.VocabSize);
        Assert.Equal(151_645, Qwen3.EosTokenId);
        Assert.Equal(151_643, Qwen3.PadTokenId);
        Assert.Null(Qwen3.BosTokenId);
        Assert.Equal(26, Qwen3.SpecialTokens.Count);
        Assert.Contains("<|im_start|>", Qwen3.ChatTemplate);
        foreach ((string content, int id) in Qwen3.SpecialTokens)
        {
            Assert.Equal([id], Qwen3.Encode(content));
            Assert.Equal(content, Qwen3.Decode([id]));
        }

        Assert.Equal(151_667, Qwen3.SpecialTokens["<think>"]);
        Assert.True(Qwen3.IsSpecialToken(151_645));
        Assert.False(Qwen3.IsSpecialToken(151_667));
    }

    [Fact]
    public void Qwen3_WithoutSpecialParsingEncodesTokenTextAsText()
    {
        int[] ids = Qwen3.Encode("<|im_start|>user", parseSpecialTokens: false);
        Assert.DoesNotContain(151_644, ids);
        Assert.True(ids.Length > 2);
        Assert.Equal("<|im_start|>user", Qwen3.Decode(ids));
    }

    [Fact]
    public void Qwen3_DecodeSkipsSpecialTokensOnRequest()
    {
        int[] ids = Qwen3.Encode("<|im_start|>assistant\n<think>\nok\n</think>\n\nHi<|im_end|>");
        Assert.Equal("assistant\n<think>\nok\n</think>\n\nHi", Qwen3.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("Hi", Qwen3.Decode([.. Qwen3.Encode("Hi"), 999_999, -1]));
    }

    [Fact]
    public void Qwen3_DecodeJoinsCharactersSplitAcrossTokens()
    {
        const string parrot = "\U0001F99C";
        int[] ids = Qwen3.Encode(parrot);
        Assert.True(ids.Length > 1, "the test needs a character that spans several tokens");
        Assert.Equal(parrot, Qwen3.Decode(ids));
        Assert.Equal("\uFFFD", Qwen3.Decode(ids[..1]));

        // Streaming: a System.Text.Decoder fed token by token holds back the incomplete sequence.
        Decoder decoder = Encoding.UTF8.GetDecoder();
        var streamed = new StringBuilder();
        foreach (int id in ids)
        {
            byte[] bytes = Qwen3.DecodeBytes([id]);
            var chars = new char[decoder.GetCharCount(bytes, flush: false)];
            decoder.GetChars(bytes, chars, flush: false);
            streamed.Append(chars);
        }

        Assert.Equal(parrot, streamed.ToString());
    }

    [Fact]
    public void Qwen3_TokenToIdUsesVocabularyForm()
    {
        Assert.Equal(1879, Qwen3.TokenToId("Ġworld"));
        Assert.Equal("Ġworld", Qwen3.IdToToken(1879));
        Assert.Equal(151_644, Qwen3.TokenToId("<|im_start|>"));
        Assert.Equal("<|im_start|>", Qwen3.IdToToken(151_644));
        Assert.Null(Qwen3.TokenToId("not a token at all"));
        Assert.Null(Qwen3.IdToToken(-1));
        Assert.Null(Qwen3.IdToToken(Qwen3.VocabSize));
    }

    [Fact]
    public void Qwen3_LoadsFromGzipFileWithExplicitConfig()
    {
        string file = Path.Combine(TokenizerFixtures.Qwen3Directory, "tokenizer.json.gz");
        HfTokenizer withoutConfig = HfTokenizer.Load(file, null);

        // Without tokenizer_config.json the end-of-sequence token falls back to <|endoftext|>.
        Assert.Equal(151_643, withoutConfig.EosTokenId);
        Assert.Null(withoutConfig.ChatTemplate);
        Assert.Equal([9707, 11, 1879, 0, 220, 16, 17, 18], withoutConfig.Encode("Hello, world! 123"));
    }
}
