namespace TinkerFlow.Types;

/// <summary>Result of <c>GET /api/v1/sessions/{id}</c>: <c>{"training_run_ids":[str],"sampler_ids":[str]}</c>.</summary>
public sealed record GetSessionResponse
{
    /// <summary>Training runs of the session (<c>training_run_ids</c>).</summary>
    public required IReadOnlyList<string> TrainingRunIds { get; init; }

    /// <summary>Samplers of the session (<c>sampler_ids</c>).</summary>
    public required IReadOnlyList<string> SamplerIds { get; init; }
}
