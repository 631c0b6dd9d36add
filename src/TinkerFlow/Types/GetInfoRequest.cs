namespace TinkerFlow.Types;

/// <summary><c>POST /api/v1/get_info</c> body: <c>{"model_id","type":"get_info"}</c>.</summary>
public sealed record GetInfoRequest
{
    /// <summary>The training run (<c>model_id</c>).</summary>
    public required string ModelId { get; init; }

    /// <summary>Wire discriminator, always <c>"get_info"</c>.</summary>
    public string Type => "get_info";
}
