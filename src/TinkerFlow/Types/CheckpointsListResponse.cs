namespace TinkerFlow.Types;

/// <summary>Result of the checkpoint listings: <c>{"checkpoints":[Checkpoint],"cursor"?:Cursor}</c>.</summary>
public sealed record CheckpointsListResponse
{
    /// <summary>The checkpoints (<c>checkpoints</c>).</summary>
    public required IReadOnlyList<Checkpoint> Checkpoints { get; init; }

    /// <summary>Paging position (<c>cursor</c>).</summary>
    public Cursor? Cursor { get; init; }
}
