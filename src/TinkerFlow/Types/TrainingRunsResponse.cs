namespace TinkerFlow.Types;

/// <summary>Result of <c>GET /api/v1/training_runs</c>: <c>{"training_runs":[TrainingRun],"cursor":Cursor}</c>.</summary>
public sealed record TrainingRunsResponse
{
    /// <summary>The runs (<c>training_runs</c>).</summary>
    public required IReadOnlyList<TrainingRun> TrainingRuns { get; init; }

    /// <summary>Paging position (<c>cursor</c>).</summary>
    public required Cursor Cursor { get; init; }
}
