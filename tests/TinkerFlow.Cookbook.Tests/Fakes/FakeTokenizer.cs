using System.Text;

namespace TinkerFlow.Cookbook.Tests.Fakes;

/// <summary>Byte-level tokenizer for tests: id b (0–255) is byte b, then one id per special token.</summary>
internal sealed class FakeTokenizer : TinkerTokenizer
{
    private readonly string[] _specials;
    private readonly int _eos;
    private readonly int? _bos;

    public FakeTokenizer(string name, string[] specials, string? eos = null, string? bos = null)
    {
        Name = name;
        _specials = specials;
        _eos = eos is null ? 0 : 256 + Array.IndexOf(specials, eos);
        _bos = bos is null ? null : 256 + Array.IndexOf(specials, bos);
    }

    public static FakeTokenizer Qwen3() => new("fake-qwen3", ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"], eos: "<|im_end|>");

    public static FakeTokenizer Llama3() =>
        new("fake-llama3", ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], eos: "<|eot_id|>", bos: "<|begin_of_text|>");

    public static FakeTokenizer Plain() => new("fake-bytes", []);

    public override string Name { get; }

    public override int VocabSize => 256 + _specials.Length;

    public override int EosTokenId => _eos;

    public override int? BosTokenId => _bos;

    public override IReadOnlyList<int> Encode(string text, bool allowSpecialTokens = true)
    {
        var ids = new List<int>();
        var pending = new StringBuilder();
        for (var i = 0; i < text.Length;)
        {
            var special = allowSpecialTokens ? MatchSpecial(text, i) : -1;
            if (special < 0)
            {
                pending.Append(text[i]);
                i++;
                continue;
            }

            Flush();
            ids.Add(256 + special);
            i += _specials[special].Length;
        }

        Flush();
        return ids;

        void Flush()
        {
            ids.AddRange(Encoding.UTF8.GetBytes(pending.ToString()).Select(b => (int)b));
            pending.Clear();
        }
    }

    public override string Decode(IEnumerable<int> tokens)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        foreach (var t in tokens)
        {
            if (t < 256)
            {
                bytes.Add((byte)t);
                continue;
            }

            text.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
            text.Append(_specials[t - 256]);
        }

        text.Append(Encoding.UTF8.GetString(bytes.ToArray()));
        return text.ToString();
    }

    public override int? TokenToId(string token)
    {
        var index = Array.IndexOf(_specials, token);
        if (index >= 0)
        {
            return 256 + index;
        }

        var bytes = Encoding.UTF8.GetBytes(token);
        return bytes.Length == 1 ? bytes[0] : null;
    }

    private int MatchSpecial(string text, int at)
    {
        for (var s = 0; s < _specials.Length; s++)
        {
            if (string.CompareOrdinal(text, at, _specials[s], 0, _specials[s].Length) == 0)
            {
                return s;
            }
        }

        return -1;
    }
}
