namespace TinkerFlow.Local.Lora;

/// <summary>How to build a <see cref="LoraAdapter"/>: rank, alpha, which modules, and the seed of its initialisation.</summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Option</term><description>Default</description></listheader>
/// <item><term><see cref="Rank"/></term><description>8</description></item>
/// <item><term><see cref="Alpha"/></term><description>32, so the update is scaled by 32 / rank (the PEFT <c>lora_alpha</c> convention, as Tinker uses)</description></item>
/// <item><term><see cref="TargetModules"/></term><description>every projection: attention, MLP and <c>lm_head</c></description></item>
/// <item><term><see cref="Seed"/></term><description>0; the same seed gives the same lora_A</description></item>
/// </list>
/// </remarks>
internal sealed record LoraAdapterOptions
{
    /// <summary>Attention projections.</summary>
    public static IReadOnlyList<string> AttentionModules { get; } = ["q_proj", "k_proj", "v_proj", "o_proj"];

    /// <summary>SwiGLU projections.</summary>
    public static IReadOnlyList<string> MlpModules { get; } = ["gate_proj", "up_proj", "down_proj"];

    /// <summary>The output projection.</summary>
    public static IReadOnlyList<string> UnembedModules { get; } = ["lm_head"];

    /// <summary>LoRA rank r (rows of lora_A, columns of lora_B).</summary>
    public int Rank { get; init; } = 8;

    /// <summary>PEFT <c>lora_alpha</c>; the update is multiplied by <see cref="Scaling"/> = alpha / rank.</summary>
    public double Alpha { get; init; } = 32;

    /// <summary>Module names (last path component, e.g. <c>q_proj</c>) that get an adapter.</summary>
    public IReadOnlyCollection<string> TargetModules { get; init; } = [.. AttentionModules, .. MlpModules, .. UnembedModules];

    /// <summary>Seed of lora_A's initialisation.</summary>
    public long Seed { get; init; }

    /// <summary>alpha / rank.</summary>
    public double Scaling => Alpha / Rank;

    /// <summary>Target module names for Tinker's <c>train_attn</c>/<c>train_mlp</c>/<c>train_unembed</c> switches.</summary>
    public static IReadOnlyCollection<string> Targets(bool trainAttn, bool trainMlp, bool trainUnembed) =>
    [
        .. trainAttn ? AttentionModules : [],
        .. trainMlp ? MlpModules : [],
        .. trainUnembed ? UnembedModules : [],
    ];
}
