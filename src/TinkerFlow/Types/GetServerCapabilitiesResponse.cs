namespace TinkerFlow.Types;

/// <summary>Result of <c>GET /api/v1/get_server_capabilities</c>: <c>{"supported_models":[…]}</c>.</summary>
public sealed record GetServerCapabilitiesResponse
{
    /// <summary>The base models the server serves (<c>supported_models</c>).</summary>
    public required IReadOnlyList<SupportedModel> SupportedModels { get; init; }
}
