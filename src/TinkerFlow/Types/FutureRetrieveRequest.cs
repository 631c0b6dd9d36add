namespace TinkerFlow.Types;

/// <summary><c>POST /api/v1/retrieve_future</c> body: <c>{"request_id","allow_metadata_only"}</c>.</summary>
public sealed record FutureRetrieveRequest
{
    /// <summary>The request to poll (<c>request_id</c>).</summary>
    public required string RequestId { get; init; }

    /// <summary>Allow a <c>complete_metadata</c> answer instead of the payload (<c>allow_metadata_only</c>); the SDK's
    /// first poll sends true.</summary>
    public bool AllowMetadataOnly { get; init; }
}
