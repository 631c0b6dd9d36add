using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// LoRA settings of a new training run (wire object <c>lora_config</c> in <c>create_model</c>).
/// At least one of the three <c>train_*</c> flags must stay true; when flipping flags in a <c>with</c>
/// expression, set the ones that become true first.
/// </summary>
public sealed record LoraConfig
{
    private readonly int _rank = 32;
    private readonly bool _trainUnembed = true;
    private readonly bool _trainMlp = true;
    private readonly bool _trainAttn = true;

    /// <summary>Creates a config with the SDK defaults (rank 32, all layers trained).</summary>
    public LoraConfig()
    {
    }

    // System.Text.Json source generation resets init-only properties that are missing from the JSON to default(T)
    // (dotnet/runtime#84484); deserialisation goes through this constructor so missing fields keep the SDK defaults.
    [JsonConstructor]
    internal LoraConfig(int rank = 32, bool trainUnembed = true, bool trainMlp = true, bool trainAttn = true)
    {
        Rank = rank;
        CheckAnyTrained(trainUnembed, trainMlp, trainAttn);
        _trainUnembed = trainUnembed;
        _trainMlp = trainMlp;
        _trainAttn = trainAttn;
    }

    /// <summary>Adapter rank (<c>rank</c>), default 32; must be &gt;= 1.</summary>
    public int Rank
    {
        get => _rank;
        init => _rank = WireValidation.AtLeast(value, 1, "lora_config.rank");
    }

    /// <summary>Seed of the adapter initialisation (<c>seed</c>); omitted when null.</summary>
    public long? Seed { get; init; }

    /// <summary>Train a LoRA on the unembedding (<c>train_unembed</c>), default true.</summary>
    public bool TrainUnembed
    {
        get => _trainUnembed;
        init
        {
            CheckAnyTrained(value, _trainMlp, _trainAttn);
            _trainUnembed = value;
        }
    }

    /// <summary>Train LoRAs on the MLP layers (<c>train_mlp</c>), default true.</summary>
    public bool TrainMlp
    {
        get => _trainMlp;
        init
        {
            CheckAnyTrained(_trainUnembed, value, _trainAttn);
            _trainMlp = value;
        }
    }

    /// <summary>Train LoRAs on the attention layers (<c>train_attn</c>), default true.</summary>
    public bool TrainAttn
    {
        get => _trainAttn;
        init
        {
            CheckAnyTrained(_trainUnembed, _trainMlp, value);
            _trainAttn = value;
        }
    }

    private static void CheckAnyTrained(bool unembed, bool mlp, bool attn)
    {
        if (!unembed && !mlp && !attn)
        {
            throw new ArgumentException(
                "lora_config: at least one of train_unembed, train_mlp, train_attn must be true, got all false.");
        }
    }
}
