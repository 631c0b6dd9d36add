using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// A model prompt / context: an immutable sequence of chunks (<c>{"chunks":[…]}</c>). Helpers return new
/// instances; position <c>i</c> of a datum's model input predicts <c>target_tokens[i]</c>.
/// </summary>
public sealed record ModelInput
{
    private readonly IReadOnlyList<ModelInputChunk> _chunks = [];

    /// <summary>An input with no chunks.</summary>
    public static ModelInput Empty { get; } = new() { Chunks = [] };

    /// <summary>The chunks (<c>chunks</c>), stored as an immutable copy.</summary>
    public required IReadOnlyList<ModelInputChunk> Chunks
    {
        get => _chunks;
        init
        {
            var copy = WireValidation.Freeze(value, "model_input.chunks");
            if (copy.Any(c => c is null))
            {
                throw new ArgumentException("model_input.chunks must not contain null chunks.");
            }

            _chunks = copy;
        }
    }

    /// <summary>Total number of context positions (sum of chunk lengths).</summary>
    /// <exception cref="InvalidOperationException">When an image chunk has no <c>expected_tokens</c>.</exception>
    [JsonIgnore]
    public int Length
    {
        get
        {
            var total = 0;
            foreach (var chunk in _chunks)
            {
                total += chunk.Length;
            }

            return total;
        }
    }

    /// <summary>One <see cref="EncodedTextChunk"/> holding <paramref name="tokens"/>.</summary>
    /// <param name="tokens">Token ids.</param>
    public static ModelInput FromInts(IEnumerable<int> tokens) =>
        new() { Chunks = [new EncodedTextChunk(WireValidation.Freeze(tokens, "tokens"))] };

    /// <summary>Tokenises <paramref name="text"/> with <paramref name="encode"/> into one text chunk.</summary>
    /// <param name="text">The text.</param>
    /// <param name="encode">The tokenizer's encode function.</param>
    public static ModelInput FromText(string text, Func<string, IReadOnlyList<int>> encode)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(encode);
        return FromInts(encode(text));
    }

    /// <summary>Tokenises <paramref name="text"/> with a model's tokenizer (special-token strings map to their ids).</summary>
    /// <param name="text">The text, e.g. a rendered chat prompt.</param>
    /// <param name="tokenizer">The tokenizer, from <c>TrainingClient.GetTokenizerAsync</c> or <c>SamplingClient.GetTokenizerAsync</c>.</param>
    /// <returns>One text chunk with the token ids.</returns>
    public static ModelInput FromText(string text, TinkerTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return FromText(text, t => tokenizer.Encode(t));
    }

    /// <summary>All token ids, in order.</summary>
    /// <exception cref="InvalidOperationException">When the input holds a non-text chunk.</exception>
    public int[] ToInts()
    {
        var result = new List<int>();
        foreach (var chunk in _chunks)
        {
            if (chunk is not EncodedTextChunk text)
            {
                throw new InvalidOperationException(
                    $"ToInts() needs a ModelInput made only of encoded_text chunks, but chunk {IndexOf(chunk)} is {chunk.GetType().Name}.");
            }

            result.AddRange(text.Tokens);
        }

        return [.. result];
    }

    /// <summary>A new input with <paramref name="chunk"/> added at the end.</summary>
    /// <param name="chunk">The chunk to append.</param>
    public ModelInput Append(ModelInputChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        return new ModelInput { Chunks = [.. _chunks, chunk] };
    }

    /// <summary>A new input with <paramref name="token"/> added at the end. The token joins a trailing text chunk
    /// when there is one (same tokens and length as the SDK's extra one-token chunk, smaller on the wire).</summary>
    /// <param name="token">The token id.</param>
    public ModelInput AppendInt(int token)
    {
        if (_chunks.Count > 0 && _chunks[^1] is EncodedTextChunk last)
        {
            return new ModelInput { Chunks = [.. _chunks.Take(_chunks.Count - 1), new EncodedTextChunk([.. last.Tokens, token])] };
        }

        return Append(new EncodedTextChunk([token]));
    }

    /// <summary>Value equality: equal chunks in the same order.</summary>
    /// <param name="other">The input to compare with.</param>
    public bool Equals(ModelInput? other) => other is not null && _chunks.SequenceEqual(other._chunks);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var c in _chunks)
        {
            hash.Add(c);
        }

        return hash.ToHashCode();
    }

    private int IndexOf(ModelInputChunk chunk)
    {
        for (var i = 0; i < _chunks.Count; i++)
        {
            if (ReferenceEquals(_chunks[i], chunk))
            {
                return i;
            }
        }

        return -1;
    }
}
