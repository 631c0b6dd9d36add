namespace TinkerFlow.Types;

/// <summary><c>POST /api/v1/forward_backward</c> body: <c>{"forward_backward_input","model_id","seq_id"?}</c> (no <c>type</c>).</summary>
public sealed record ForwardBackwardRequest
{
    /// <summary>The examples and loss (<c>forward_backward_input</c>).</summary>
    public required ForwardBackwardInput ForwardBackwardInput { get; init; }

    /// <summary>The training run (<c>model_id</c>).</summary>
    public required string ModelId { get; init; }

    /// <summary>Per-training-client sequence number (<c>seq_id</c>, first request after creation = 1).</summary>
    public int? SeqId { get; init; }
}
