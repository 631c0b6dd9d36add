using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>Already-tokenised text (<c>{"type":"encoded_text","tokens":[…]}</c>).</summary>
public sealed record EncodedTextChunk : ModelInputChunk
{
    private readonly IReadOnlyList<int> _tokens = [];

    /// <summary>Creates an empty chunk; set <see cref="Tokens"/>.</summary>
    public EncodedTextChunk()
    {
    }

    /// <summary>Creates a chunk holding a copy of <paramref name="tokens"/>.</summary>
    /// <param name="tokens">The token ids.</param>
    [JsonConstructor]
    public EncodedTextChunk(IReadOnlyList<int> tokens) => Tokens = tokens;

    /// <summary>The token ids (<c>tokens</c>); stored as an immutable copy.</summary>
    public IReadOnlyList<int> Tokens
    {
        get => _tokens;
        init => _tokens = WireValidation.Freeze(value, "encoded_text.tokens");
    }

    /// <summary>Number of tokens.</summary>
    [JsonIgnore]
    public override int Length => _tokens.Count;

    /// <summary>Value equality: same token sequence.</summary>
    /// <param name="other">The chunk to compare with.</param>
    public bool Equals(EncodedTextChunk? other) => other is not null && _tokens.SequenceEqual(other._tokens);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var t in _tokens)
        {
            hash.Add(t);
        }

        return hash.ToHashCode();
    }
}
