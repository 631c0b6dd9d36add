namespace TinkerFlow.Types;

/// <summary>Result of <c>optim_step</c>: <c>{"metrics"?:{str:float}}</c>.</summary>
public sealed record OptimStepResponse
{
    /// <summary>Optimizer metrics (<c>metrics</c>); omitted when null.</summary>
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }
}
