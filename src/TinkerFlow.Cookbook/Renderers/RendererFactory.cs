namespace TinkerFlow.Cookbook.Renderers;

/// <summary>Creates renderers by name and picks the recommended one for a model (the cookbook's <c>get_renderer</c> and <c>get_recommended_renderer_name</c>).</summary>
public static class RendererFactory
{
    /// <summary>The renderer names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["qwen3", "qwen3_disable_thinking", "llama3", "role_colon"];

    /// <summary>Creates a renderer by name.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <returns>The renderer.</returns>
    /// <exception cref="ArgumentException">Unknown name, or the tokenizer lacks the template's special tokens.</exception>
    public static Renderer Create(string name, TinkerTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return name switch
        {
            "qwen3" => new Qwen3Renderer(tokenizer),
            "qwen3_disable_thinking" => new Qwen3Renderer(tokenizer, disableThinking: true),
            "llama3" => new Llama3Renderer(tokenizer),
            "role_colon" => new RoleColonRenderer(tokenizer),
            _ => throw new ArgumentException($"Unknown renderer '{name}'. Known renderers: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    /// <summary>The recommended renderer name for a base model: <c>qwen3</c> for Qwen names (including
    /// <c>tinkerflow/tiny-qwen3</c>), <c>llama3</c> for Llama 3, otherwise <c>role_colon</c>.</summary>
    /// <param name="modelName">The base model name.</param>
    /// <returns>A name accepted by <see cref="Create"/>.</returns>
    public static string GetRecommendedRendererName(string modelName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        if (modelName.Contains("qwen", StringComparison.OrdinalIgnoreCase))
        {
            return "qwen3";
        }

        return modelName.Contains("llama-3", StringComparison.OrdinalIgnoreCase) || modelName.Contains("llama3", StringComparison.OrdinalIgnoreCase)
            ? "llama3"
            : "role_colon";
    }
}
