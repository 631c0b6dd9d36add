namespace TinkerFlow.Types;

/// <summary>Paging position of a listing: <c>{"offset","limit","total_count"}</c>.</summary>
public sealed record Cursor
{
    /// <summary>Index of the first returned item (<c>offset</c>).</summary>
    public required int Offset { get; init; }

    /// <summary>Page size asked for (<c>limit</c>).</summary>
    public required int Limit { get; init; }

    /// <summary>Number of items in the whole listing (<c>total_count</c>).</summary>
    public required int TotalCount { get; init; }
}
