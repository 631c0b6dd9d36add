using TinkerFlow.Local.Tokenization;

namespace TinkerFlow.Local.Engine;

/// <summary>A <see cref="TinkerTokenizer"/> over a Hugging Face <c>tokenizer.json</c>.</summary>
internal sealed class LocalTokenizer(string name, HfTokenizer tokenizer) : TinkerTokenizer
{
    public HfTokenizer Inner => tokenizer;

    public override string Name => name;

    public override int VocabSize => tokenizer.VocabSize;

    public override int EosTokenId => tokenizer.EosTokenId;

    public override int? BosTokenId => tokenizer.BosTokenId;

    public override IReadOnlyList<int> Encode(string text, bool allowSpecialTokens = true) => tokenizer.Encode(text, allowSpecialTokens);

    public override string Decode(IEnumerable<int> tokens) => tokenizer.Decode(tokens);

    public override int? TokenToId(string token) => tokenizer.TokenToId(token);
}
