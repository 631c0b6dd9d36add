using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>An image stored elsewhere (<c>{"type":"image_asset_pointer","format","location","expected_tokens"?}</c>).
/// Cannot be sent over the protobuf wire.</summary>
public sealed record ImageAssetPointerChunk : ModelInputChunk
{
    private readonly string _format = "png";
    private readonly string _location = "";
    private readonly int? _expectedTokens;

    /// <summary>Image encoding (<c>format</c>): <c>"png"</c> or <c>"jpeg"</c>.</summary>
    public required string Format
    {
        get => _format;
        init => _format = WireValidation.ImageFormat(value, "image_asset_pointer.format");
    }

    /// <summary>Path or URL of the image (<c>location</c>).</summary>
    public required string Location
    {
        get => _location;
        init => _location = WireValidation.NotNull(value, "image_asset_pointer.location");
    }

    /// <summary>Advisory number of tokens the image occupies (<c>expected_tokens</c>); must be &gt;= 0 when set.</summary>
    public int? ExpectedTokens
    {
        get => _expectedTokens;
        init => _expectedTokens = WireValidation.AtLeast(value, 0, "image_asset_pointer.expected_tokens");
    }

    /// <summary>The token count, taken from <see cref="ExpectedTokens"/>.</summary>
    /// <exception cref="InvalidOperationException">When <see cref="ExpectedTokens"/> is null.</exception>
    [JsonIgnore]
    public override int Length => _expectedTokens
        ?? throw new InvalidOperationException(
            $"The length of the image at '{_location}' is unknown because image_asset_pointer.expected_tokens is not set; set ExpectedTokens to the number of tokens the image occupies.");
}
