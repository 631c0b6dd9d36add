using TinkerFlow.Types;

namespace TinkerFlow.Tests.Types;

public sealed class ModelInputTokenizerTests
{
    private sealed class ByteTokenizer : TinkerTokenizer
    {
        public override string Name => "bytes";

        public override int VocabSize => 257;

        public override int EosTokenId => 256;

        public override IReadOnlyList<int> Encode(string text, bool allowSpecialTokens = true) =>
            allowSpecialTokens && text == "<eos>" ? [256] : System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToList();

        public override string Decode(IEnumerable<int> tokens) => System.Text.Encoding.UTF8.GetString(tokens.Where(t => t < 256).Select(t => (byte)t).ToArray());

        public override int? TokenToId(string token) => token == "<eos>" ? 256 : null;
    }

    [Fact]
    public void FromText_WithTokenizerEncodesIntoOneTextChunk()
    {
        var input = ModelInput.FromText("hi!", new ByteTokenizer());

        Assert.Equal([104, 105, 33], input.ToInts());
        Assert.IsType<EncodedTextChunk>(Assert.Single(input.Chunks));
        Assert.Equal([256], ModelInput.FromText("<eos>", new ByteTokenizer()).ToInts());
    }
}
