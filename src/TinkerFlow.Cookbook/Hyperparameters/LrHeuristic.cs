namespace TinkerFlow.Cookbook.Hyperparameters;

/// <summary>
/// The cookbook's calibrated learning-rate guess (<c>hyperparam_utils.get_lr</c>):
/// LR = 5e-5 × M × (2000 / hidden_size)^P, with M = 10 for LoRA (1 for full fine-tuning), P = 0.0775 for Qwen and
/// 0.781 for Llama. The cookbook reports under 0.5% regret against its sweeps and no dependence on LoRA rank.
/// </summary>
/// <remarks>Examples: Qwen3-8B (hidden 4096) 4.73e-4; Llama-3.1-8B (4096) 2.86e-4; Llama-3.2-1B (2048) 4.91e-4;
/// Llama-3.1-70B (8192) 1.66e-4.</remarks>
public static class LrHeuristic
{
    /// <summary>Base rate before the LoRA multiplier and size correction.</summary>
    public const double BaseLr = 5e-5;

    /// <summary>LoRA needs about 10× the full fine-tuning rate.</summary>
    public const double LoraMultiplier = 10;

    /// <summary>Size exponent for Qwen models.</summary>
    public const double QwenExponent = 0.0775;

    /// <summary>Size exponent for Llama models.</summary>
    public const double LlamaExponent = 0.781;

    private static readonly Dictionary<string, int> HiddenSizes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Qwen/Qwen3-0.6B"] = 1024,
        ["Qwen/Qwen3-1.7B"] = 2048,
        ["Qwen/Qwen3-4B"] = 2560,
        ["Qwen/Qwen3-8B"] = 4096,
        ["Qwen/Qwen3-14B"] = 5120,
        ["Qwen/Qwen3-32B"] = 5120,
        ["Qwen/Qwen3.5-4B"] = 2560,
        ["meta-llama/Llama-3.2-1B"] = 2048,
        ["meta-llama/Llama-3.2-3B"] = 3072,
        ["meta-llama/Llama-3.1-8B"] = 4096,
        ["meta-llama/Llama-3.1-8B-Instruct"] = 4096,
        ["meta-llama/Llama-3.1-70B"] = 8192,
        ["meta-llama/Llama-3.3-70B-Instruct"] = 8192,
        ["tinkerflow/tiny-qwen3"] = 128,
    };

    /// <summary>The LR for a model whose hidden size is in the built-in table (common Qwen3 and Llama 3 models and
    /// <c>tinkerflow/tiny-qwen3</c>).</summary>
    /// <param name="modelName">The base model name, e.g. <c>Qwen/Qwen3-8B</c>.</param>
    /// <param name="isLora">True for LoRA (×10), false for full fine-tuning.</param>
    /// <returns>The learning rate.</returns>
    /// <exception cref="ArgumentException">Unknown family, or a hidden size not in the table (then use the overload taking it).</exception>
    public static double GetLr(string modelName, bool isLora = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        var exponent = ExponentFor(modelName);
        if (!HiddenSizes.TryGetValue(modelName, out var hidden))
        {
            throw new ArgumentException($"The hidden size of '{modelName}' is not in the built-in table; call LrHeuristic.GetLr(\"{modelName}\", hiddenSize) with the model's hidden_size from its config.json.", nameof(modelName));
        }

        return Compute(hidden, exponent, isLora);
    }

    /// <summary>The LR for a model of a known family with an explicit hidden size (e.g. a tiny test model).</summary>
    /// <param name="modelName">The base model name; its family (Qwen or Llama) picks the exponent.</param>
    /// <param name="hiddenSize">The model's <c>hidden_size</c>.</param>
    /// <param name="isLora">True for LoRA (×10), false for full fine-tuning.</param>
    /// <returns>The learning rate.</returns>
    /// <exception cref="ArgumentException">The family is not calibrated.</exception>
    public static double GetLr(string modelName, int hiddenSize, bool isLora = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        return Compute(hiddenSize, ExponentFor(modelName), isLora);
    }

    private static double Compute(int hiddenSize, double exponent, bool isLora) =>
        BaseLr * (isLora ? LoraMultiplier : 1) * Math.Pow(2000.0 / hiddenSize, exponent);

    private static double ExponentFor(string modelName)
    {
        if (modelName.Contains("qwen", StringComparison.OrdinalIgnoreCase))
        {
            return QwenExponent;
        }

        if (modelName.Contains("llama", StringComparison.OrdinalIgnoreCase))
        {
            return LlamaExponent;
        }

        throw new ArgumentException($"The LR heuristic is not calibrated for the model family of '{modelName}' (calibrated: Qwen, Llama). Set the learning rate explicitly, e.g. from a small sweep over {{1e-4, 3e-4, 1e-3}}.", nameof(modelName));
    }
}
