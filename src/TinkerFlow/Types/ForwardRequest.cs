namespace TinkerFlow.Types;

/// <summary><c>POST /api/v1/forward</c> body: <c>{"forward_input","model_id","seq_id"?}</c> (no <c>type</c>); forward only.</summary>
public sealed record ForwardRequest
{
    /// <summary>The examples and loss (<c>forward_input</c>).</summary>
    public required ForwardBackwardInput ForwardInput { get; init; }

    /// <summary>The training run (<c>model_id</c>).</summary>
    public required string ModelId { get; init; }

    /// <summary>Per-training-client sequence number (<c>seq_id</c>).</summary>
    public int? SeqId { get; init; }
}
