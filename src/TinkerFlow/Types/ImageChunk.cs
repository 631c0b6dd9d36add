using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>An inline image (<c>{"type":"image","data":"&lt;base64&gt;","format":"png"|"jpeg","expected_tokens"?:int}</c>).</summary>
public sealed record ImageChunk : ModelInputChunk
{
    private readonly byte[] _data = [];
    private readonly string _format = "png";
    private readonly int? _expectedTokens;

    /// <summary>The encoded image bytes (<c>data</c>, base64 on the wire).</summary>
    public required byte[] Data
    {
        get => _data;
        init => _data = WireValidation.NotNull(value, "image.data");
    }

    /// <summary>Image encoding (<c>format</c>): <c>"png"</c> or <c>"jpeg"</c>.</summary>
    public required string Format
    {
        get => _format;
        init => _format = WireValidation.ImageFormat(value, "image.format");
    }

    /// <summary>Advisory number of tokens the image occupies (<c>expected_tokens</c>); must be &gt;= 0 when set.</summary>
    public int? ExpectedTokens
    {
        get => _expectedTokens;
        init => _expectedTokens = WireValidation.AtLeast(value, 0, "image.expected_tokens");
    }

    /// <summary>The token count, taken from <see cref="ExpectedTokens"/>.</summary>
    /// <exception cref="InvalidOperationException">When <see cref="ExpectedTokens"/> is null.</exception>
    [JsonIgnore]
    public override int Length => _expectedTokens
        ?? throw new InvalidOperationException(
            "The length of an image chunk is unknown because image.expected_tokens is not set; set ExpectedTokens to the number of tokens the image occupies.");

    /// <summary>Value equality: same bytes, format and expected tokens.</summary>
    /// <param name="other">The chunk to compare with.</param>
    public bool Equals(ImageChunk? other) =>
        other is not null && _format == other._format && _expectedTokens == other._expectedTokens && _data.AsSpan().SequenceEqual(other._data);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_format, _expectedTokens, _data.Length);
}
