using System.Text.Json.Nodes;
using TinkerFlow.Local.BuiltinModels;
using TinkerFlow.Tokenization;

namespace TinkerFlow.Local.Tests.Tokenization;

public sealed class HfTokenizerLoadErrorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tinkerflow-tokenizer-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Load_WordPieceModelIsRejectedNamingFileAndField()
    {
        string path = Write(json => json["model"]!["type"] = "WordPiece");

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("model.type is \"WordPiece\"", error.Message);
    }

    [Fact]
    public void Load_MalformedJsonNamesFile()
    {
        string path = Path.Combine(_directory, "tokenizer.json");
        File.WriteAllText(path, "{ \"model\": ");

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("not valid JSON", error.Message);
    }

    [Theory]
    [InlineData("no_pre_tokenizer", "pre_tokenizer has no ByteLevel step")]
    [InlineData("pre_tokenizer", "pre_tokenizer type \"Whitespace\" is not supported")]
    [InlineData("normalizer", "normalizer.type \"Lowercase\" is not supported")]
    [InlineData("merges", "model.merges[0] uses")]
    [InlineData("vocab", "lacks the byte-level token for byte 0x41")]
    [InlineData("byte_fallback", "model.byte_fallback is true: this is a SentencePiece-style BPE tokenizer")]
    [InlineData("metaspace", "pre_tokenizer is Metaspace: this is a SentencePiece-style BPE tokenizer")]
    [InlineData("truncation", "\"truncation\" is set")]
    [InlineData("padding", "\"padding\" is set")]
    [InlineData("post_processor", "post_processor type \"Unknown\" is not supported")]
    [InlineData("template_without_sequence", "post_processor.single has no sequence \"A\"")]
    [InlineData("template_unknown_id", "post_processor adds id 99999")]
    public void Load_UnsupportedFeatureIsRejected(string feature, string expectedMessage)
    {
        string path = Write(json =>
        {
            JsonNode model = json["model"]!;
            switch (feature)
            {
                case "no_pre_tokenizer": json["pre_tokenizer"] = null; break;
                case "pre_tokenizer": json["pre_tokenizer"] = JsonNode.Parse("""{"type":"Whitespace"}"""); break;
                case "normalizer": json["normalizer"] = JsonNode.Parse("""{"type":"Lowercase"}"""); break;
                case "merges": model["merges"]!.AsArray().Insert(0, new JsonArray("x", "zz")); break;
                case "vocab": model["vocab"]!.AsObject().Remove("A"); break;
                case "byte_fallback": model["byte_fallback"] = true; break;
                case "metaspace": json["pre_tokenizer"] = JsonNode.Parse("""{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}"""); break;
                case "truncation": json["truncation"] = JsonNode.Parse("""{"max_length":8,"strategy":"LongestFirst","stride":0,"direction":"Right"}"""); break;
                case "padding": json["padding"] = JsonNode.Parse("""{"strategy":"BatchLongest","pad_id":0}"""); break;
                case "post_processor": json["post_processor"] = JsonNode.Parse("""{"type":"Unknown"}"""); break;
                case "template_without_sequence":
                    json["post_processor"] = JsonNode.Parse("""{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<|endoftext|>","type_id":0}}],"special_tokens":{"<|endoftext|>":{"id":"<|endoftext|>","ids":[0],"tokens":["<|endoftext|>"]}}}""");
                    break;
                case "template_unknown_id":
                    json["post_processor"] = JsonNode.Parse("""{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"X","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"special_tokens":{"X":{"id":"X","ids":[99999],"tokens":["X"]}}}""");
                    break;
            }
        });

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(expectedMessage, error.Message);
    }

    [Fact]
    public void Load_UnknownEosTokenNamesConfigFile()
    {
        string path = Write(_ => { });
        string config = Path.Combine(_directory, "tokenizer_config.json");
        File.WriteAllText(config, """{"eos_token": "<|nope|>"}""");

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(_directory));

        Assert.Contains(config, error.Message);
        Assert.Contains("\"eos_token\" is \"<|nope|>\"", error.Message);
    }

    [Fact]
    public void Load_MissingFileSaysWhatWasExpected()
    {
        FileNotFoundException error = Assert.Throws<FileNotFoundException>(() => HfTokenizer.Load(_directory));

        Assert.Contains(Path.Combine(_directory, "tokenizer.json"), error.Message);
    }

    [Fact]
    public void Load_AcceptsMergesWrittenAsSpaceSeparatedStrings()
    {
        HfTokenizer pairs = Builtin();
        string path = Write(json =>
        {
            var merges = new JsonArray();
            foreach (JsonNode? pair in json["model"]!["merges"]!.AsArray())
            {
                merges.Add($"{pair![0]} {pair[1]}");
            }

            json["model"]!["merges"] = merges;
        });

        HfTokenizer strings = HfTokenizer.Load(path);

        const string text = "the cat and the hat sat on the mat, 12+34=46";
        Assert.Equal(pairs.Encode(text), strings.Encode(text));
        Assert.True(strings.Encode(text).Length < System.Text.Encoding.UTF8.GetByteCount(text), "merges were applied");
    }

    private static HfTokenizer Builtin()
    {
        Assert.True(BuiltinModelCatalog.TryGet(BuiltinModelCatalog.TinyQwen3, out BuiltinModelAssets? assets));
        return assets.Tokenizer;
    }

    /// <summary>Writes the built-in tokenizer.json, edited, into the temp folder.</summary>
    private string Write(Action<JsonNode> edit)
    {
        JsonNode json = JsonNode.Parse(BuiltinTokenizerBuilder.BuildTokenizerJson())!;
        edit(json);
        string path = Path.Combine(_directory, "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }
}
