using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// Adam(W) hyper-parameters sent with every <c>optim_step</c> (wire object <c>adam_params</c>). All six fields are
/// always written; the defaults are the SDK's.
/// </summary>
public sealed record AdamParams
{
    private readonly double _learningRate = 1e-4;
    private readonly double _beta1 = 0.9;
    private readonly double _beta2 = 0.95;
    private readonly double _eps = 1e-12;
    private readonly double _weightDecay;
    private readonly double _gradClipNorm;

    /// <summary>Creates parameters with the SDK defaults; set properties to override.</summary>
    public AdamParams()
    {
    }

    // System.Text.Json source generation resets init-only properties that are missing from the JSON to default(T)
    // (dotnet/runtime#84484); deserialisation goes through this constructor so missing fields keep the SDK defaults.
    [JsonConstructor]
    internal AdamParams(double learningRate = 1e-4, double beta1 = 0.9, double beta2 = 0.95, double eps = 1e-12)
    {
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
    }

    /// <summary>Learning rate (<c>learning_rate</c>), default 1e-4; must be &gt;= 0.</summary>
    public double LearningRate
    {
        get => _learningRate;
        init => _learningRate = WireValidation.NonNegative(value, "adam_params.learning_rate");
    }

    /// <summary>First-moment decay (<c>beta1</c>), default 0.9; must be in [0, 1).</summary>
    [JsonPropertyName("beta1")]
    public double Beta1
    {
        get => _beta1;
        init => _beta1 = WireValidation.InHalfOpenUnit(value, "adam_params.beta1");
    }

    /// <summary>Second-moment decay (<c>beta2</c>), default 0.95; must be in [0, 1).</summary>
    [JsonPropertyName("beta2")]
    public double Beta2
    {
        get => _beta2;
        init => _beta2 = WireValidation.InHalfOpenUnit(value, "adam_params.beta2");
    }

    /// <summary>Denominator epsilon (<c>eps</c>), default 1e-12; must be &gt; 0.</summary>
    public double Eps
    {
        get => _eps;
        init => _eps = WireValidation.Positive(value, "adam_params.eps");
    }

    /// <summary>Decoupled (AdamW) weight decay (<c>weight_decay</c>), default 0; must be &gt;= 0.</summary>
    public double WeightDecay
    {
        get => _weightDecay;
        init => _weightDecay = WireValidation.NonNegative(value, "adam_params.weight_decay");
    }

    /// <summary>Global-norm gradient clip (<c>grad_clip_norm</c>), default 0 = no clipping; must be &gt;= 0.</summary>
    public double GradClipNorm
    {
        get => _gradClipNorm;
        init => _gradClipNorm = WireValidation.NonNegative(value, "adam_params.grad_clip_norm");
    }
}
