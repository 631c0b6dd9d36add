namespace TinkerFlow.Types;

/// <summary>One entry of <c>supported_models</c>: <c>{"model_name"?,"max_context_length"?}</c>.</summary>
public sealed record SupportedModel
{
    /// <summary>Base model name (<c>model_name</c>).</summary>
    public string? ModelName { get; init; }

    /// <summary>Longest supported context in tokens (<c>max_context_length</c>).</summary>
    public int? MaxContextLength { get; init; }
}
