using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// One piece of a <see cref="ModelInput"/>. On the wire the concrete kind is told by the <c>"type"</c> property:
/// <c>"encoded_text"</c> (<see cref="EncodedTextChunk"/>), <c>"image"</c> (<see cref="ImageChunk"/>) or
/// <c>"image_asset_pointer"</c> (<see cref="ImageAssetPointerChunk"/>).
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(EncodedTextChunk), "encoded_text")]
[JsonDerivedType(typeof(ImageChunk), "image")]
[JsonDerivedType(typeof(ImageAssetPointerChunk), "image_asset_pointer")]
public abstract record ModelInputChunk
{
    /// <summary>Number of context positions (tokens) this chunk occupies.</summary>
    [JsonIgnore]
    public abstract int Length { get; }
}
