namespace TinkerFlow.Types;

/// <summary>Poll answer "done, payload withheld": <c>{"status":"complete_metadata","response_payload_size":int}</c>.</summary>
public sealed record FutureMetadataResponse
{
    /// <summary>Size in bytes of the withheld payload (<c>response_payload_size</c>).</summary>
    public required long ResponsePayloadSize { get; init; }

    /// <summary>Wire marker, always <c>"complete_metadata"</c>.</summary>
    public string Status => "complete_metadata";
}
