using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// Sampling settings of an <c>asample</c> request (wire object <c>sampling_params</c>). <c>temperature</c>,
/// <c>top_k</c> and <c>top_p</c> are always written; <c>max_tokens</c>, <c>seed</c> and <c>stop</c> only when set.
/// </summary>
public sealed record SamplingParams
{
    private readonly int? _maxTokens;
    private readonly double _temperature = 1;
    private readonly int _topK = -1;
    private readonly double _topP = 1;

    /// <summary>Creates parameters with the SDK defaults (temperature 1, no top-k / top-p limit).</summary>
    public SamplingParams()
    {
    }

    // System.Text.Json source generation resets init-only properties that are missing from the JSON to default(T)
    // (dotnet/runtime#84484); deserialisation goes through this constructor so missing fields keep the SDK defaults.
    [JsonConstructor]
    internal SamplingParams(double temperature = 1, int topK = -1, double topP = 1)
    {
        Temperature = temperature;
        TopK = topK;
        TopP = topP;
    }

    /// <summary>Maximum number of tokens to generate (<c>max_tokens</c>); must be &gt;= 1 when set.
    /// Optional on the wire, but real servers want it.</summary>
    public int? MaxTokens
    {
        get => _maxTokens;
        init => _maxTokens = WireValidation.AtLeast(value, 1, "sampling_params.max_tokens");
    }

    /// <summary>Sampling seed (<c>seed</c>); omitted when null.</summary>
    public long? Seed { get; init; }

    /// <summary>Stop condition (<c>stop</c>): strings or token ids; omitted when null.</summary>
    public StopCondition? Stop { get; init; }

    /// <summary>Softmax temperature (<c>temperature</c>), default 1; must be &gt;= 0 (0 = greedy).</summary>
    public double Temperature
    {
        get => _temperature;
        init => _temperature = WireValidation.NonNegative(value, "sampling_params.temperature");
    }

    /// <summary>Top-k cut-off (<c>top_k</c>), default -1 = no limit; must be -1 or &gt;= 1.</summary>
    public int TopK
    {
        get => _topK;
        init => _topK = value == -1 || value >= 1
            ? value
            : throw new ArgumentException($"sampling_params.top_k must be -1 (no limit) or >= 1, got {value}.");
    }

    /// <summary>Nucleus threshold (<c>top_p</c>), default 1; must be in (0, 1].</summary>
    public double TopP
    {
        get => _topP;
        init => _topP = value is > 0 and <= 1
            ? value
            : throw new ArgumentException($"sampling_params.top_p must be in (0, 1], got {WireValidation.Format(value)}.");
    }
}
