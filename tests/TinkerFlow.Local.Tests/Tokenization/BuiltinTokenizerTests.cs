using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using TinkerFlow.Local.BuiltinModels;
using TinkerFlow.Local.Tokenization;

namespace TinkerFlow.Local.Tests.Tokenization;

public class BuiltinTokenizerTests
{
    private static BuiltinModelAssets Assets
    {
        get
        {
            Assert.True(BuiltinModelCatalog.TryGet(BuiltinModelCatalog.TinyQwen3, out BuiltinModelAssets? assets));
            return assets;
        }
    }

    private static HfTokenizer Tokenizer => Assets.Tokenizer;

    /// <summary>
    /// The embedded files must equal <see cref="BuiltinTokenizerBuilder"/>'s output. With
    /// <c>TINKERFLOW_REGENERATE_BUILTIN=1</c> the test rewrites src/TinkerFlow.Local/BuiltinModels/tiny-qwen3/ first
    /// (then rebuild and run again).
    /// </summary>
    [Fact]
    public void BuiltinTokenizer_EmbeddedFilesEqualBuilderOutput()
    {
        IReadOnlyDictionary<string, string> expected = BuiltinTokenizerBuilder.BuildFiles();
        if (Environment.GetEnvironmentVariable("TINKERFLOW_REGENERATE_BUILTIN") == "1")
        {
            string folder = Path.Combine(RepositoryRoot(), "src", "TinkerFlow.Local", "BuiltinModels", "tiny-qwen3");
            foreach ((string name, string text) in expected)
            {
                File.WriteAllText(Path.Combine(folder, name), text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            }
        }

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), Assets.FileNames);
        foreach ((string name, string text) in expected)
        {
            string embedded = Encoding.UTF8.GetString(Assets.ReadFile(name)).ReplaceLineEndings("\n");
            Assert.True(text == embedded,
                $"BuiltinModels/tiny-qwen3/{name} differs from BuiltinTokenizerBuilder's output; regenerate with "
                + "TINKERFLOW_REGENERATE_BUILTIN=1 dotnet test tests/TinkerFlow.Local.Tests --filter \"FullyQualifiedName~BuiltinTokenizer\" and rebuild.");
        }
    }

    [Fact]
    public void BuiltinTokenizer_CatalogListsTinyQwen3()
    {
        Assert.Equal(["tinkerflow/tiny-qwen3"], BuiltinModelCatalog.Names);
        Assert.True(BuiltinModelCatalog.TryGet("TinkerFlow/Tiny-Qwen3", out BuiltinModelAssets? assets));
        Assert.Same(Assets, assets);
        Assert.Equal("tinkerflow/tiny-qwen3", assets.Name);
        Assert.False(BuiltinModelCatalog.TryGet("Qwen/Qwen3-8B", out _));
    }

    [Fact]
    public void BuiltinTokenizer_VocabFitsConfigVocabSize()
    {
        using JsonDocument config = JsonDocument.Parse(Assets.ConfigJson);
        JsonElement root = config.RootElement;
        int vocabSize = root.GetProperty("vocab_size").GetInt32();

        Assert.Equal("qwen3", root.GetProperty("model_type").GetString());
        Assert.Equal(320, Tokenizer.VocabSize);
        Assert.True(Tokenizer.VocabSize <= vocabSize);
        Assert.Equal(0, vocabSize % 64);
        Assert.True(vocabSize - Tokenizer.VocabSize < 64);
        Assert.Equal(Tokenizer.EosTokenId, root.GetProperty("eos_token_id").GetInt32());
        Assert.Equal(Tokenizer.PadTokenId, root.GetProperty("pad_token_id").GetInt32());
    }

    [Fact]
    public void BuiltinTokenizer_SpecialTokensAreSingleIds()
    {
        string[] specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"];
        Assert.Equal(specials.Order(StringComparer.Ordinal), Tokenizer.SpecialTokens.Keys.Order(StringComparer.Ordinal));
        foreach (string special in specials)
        {
            int id = Tokenizer.SpecialTokens[special];
            Assert.Equal([id], Tokenizer.Encode(special));
            Assert.Equal(id, Tokenizer.TokenToId(special));
        }

        Assert.Equal(Tokenizer.SpecialTokens["<|im_end|>"], Tokenizer.EosTokenId);
        Assert.Equal(Tokenizer.SpecialTokens["<|endoftext|>"], Tokenizer.PadTokenId);
        Assert.Null(Tokenizer.BosTokenId);
        Assert.Contains("<|im_start|>", Tokenizer.ChatTemplate);

        int[] chat = Tokenizer.Encode("<|im_start|>user\n12+34=<|im_end|>\n<|im_start|>assistant\n");
        Assert.Equal(3, chat.Count(id => id == Tokenizer.SpecialTokens["<|im_start|>"] || id == Tokenizer.EosTokenId));
    }

    [Fact]
    public void BuiltinTokenizer_DigitsAreSingleByteTokens()
    {
        // Id b is byte b, and no merge touches a digit.
        Assert.Equal("0123456789".Select(c => (int)c), Tokenizer.Encode("0123456789"));
        Assert.Equal("12+34=46".Select(c => (int)c), Tokenizer.Encode("12+34=46"));
        Assert.Equal([(int)' ', '9', '9', '9'], Tokenizer.Encode(" 999"));
    }

    [Fact]
    public void BuiltinTokenizer_MergesCommonEnglish()
    {
        int[] ids = Tokenizer.Encode(" the");
        Assert.Single(ids);
        Assert.Equal("Ġthe", Tokenizer.IdToToken(ids[0]));
        Assert.True(Tokenizer.Encode("The cat and the dog sat on the mat").Length < 34);
    }

    [Fact]
    public void BuiltinTokenizer_RoundTripsArbitraryText()
    {
        var random = new Random(1234);
        var samples = new List<string>
        {
            "", " ", "\r\n\t", "Café naïve", "Cafe\u0301", "你好，世界", "مرحبا", "\U0001F468\u200D\U0001F469\u200D\U0001F467",
            "<|im_start|>user\nhi<|im_end|>", "<think>\n</think>", "<|im_sta", "\0\u0001\u007F\u0080\u00FF",
        };
        int[][] ranges = [[0x20, 0x7E], [0x00, 0x1F], [0xA0, 0x2FF], [0x370, 0x6FF], [0x3040, 0x30FF], [0x4E00, 0x9FFF], [0xAC00, 0xD7A3], [0x1F300, 0x1FAFF], [0x20000, 0x2A6DF]];
        for (int i = 0; i < 200; i++)
        {
            var text = new StringBuilder();
            int length = random.Next(0, 40);
            for (int k = 0; k < length; k++)
            {
                int[] range = ranges[random.Next(ranges.Length)];
                text.Append(char.ConvertFromUtf32(random.Next(range[0], range[1] + 1)));
            }

            samples.Add(text.ToString());
        }

        foreach (string text in samples)
        {
            int[] ids = Tokenizer.Encode(text);
            Assert.True(text == Tokenizer.Decode(ids), $"round trip failed for {TokenizerFixtures.Show(text)}");
            Assert.All(ids, id => Assert.InRange(id, 0, Tokenizer.VocabSize - 1));
            Assert.Equal(text, Tokenizer.Decode(Tokenizer.Encode(text, parseSpecialTokens: false)));
        }
    }

    [Fact]
    public void BuiltinTokenizer_MatchesHuggingFaceReferenceIds()
    {
        foreach ((string text, int[] expected) in TokenizerFixtures.ReadReference("tiny-qwen3"))
        {
            Assert.True(expected.SequenceEqual(Tokenizer.Encode(text)), $"ids differ for {TokenizerFixtures.Show(text)}");
        }
    }

    private static string RepositoryRoot([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", ".."));
}
