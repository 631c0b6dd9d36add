using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// <c>POST /api/v1/asample</c> body: <c>{"num_samples","prompt","sampling_params","base_model"?,"model_path"?,
/// "sampling_session_id"?,"seq_id"?,"prompt_logprobs"?,"topk_prompt_logprobs","type":"sample"}</c>.
/// </summary>
public sealed record SampleRequest
{
    private readonly int _numSamples = 1;
    private readonly string? _modelPath;
    private readonly int _topkPromptLogprobs;

    /// <summary>Creates a request; set <see cref="Prompt"/> and <see cref="SamplingParams"/>.</summary>
    public SampleRequest()
    {
    }

    // System.Text.Json source generation resets init-only properties that are missing from the JSON to default(T)
    // (dotnet/runtime#84484); deserialisation goes through this constructor so missing fields keep the SDK defaults.
    [JsonConstructor]
    internal SampleRequest(int numSamples = 1) => NumSamples = numSamples;

    /// <summary>Number of completions (<c>num_samples</c>), default 1; must be &gt;= 1.</summary>
    public int NumSamples
    {
        get => _numSamples;
        init => _numSamples = WireValidation.AtLeast(value, 1, "sample.num_samples");
    }

    /// <summary>The prompt (<c>prompt</c>).</summary>
    public required ModelInput Prompt { get; init; }

    /// <summary>Sampling settings (<c>sampling_params</c>).</summary>
    public required SamplingParams SamplingParams { get; init; }

    /// <summary>Base model to sample from (<c>base_model</c>) when no session is used.</summary>
    public string? BaseModel { get; init; }

    /// <summary>Sampler weights (<c>model_path</c>, must start with <c>tinker://</c>) when no session is used.</summary>
    public string? ModelPath
    {
        get => _modelPath;
        init => _modelPath = WireValidation.TinkerPathOrNull(value, "sample.model_path");
    }

    /// <summary>The sampling session (<c>sampling_session_id</c>); the form the high-level client always uses.</summary>
    public string? SamplingSessionId { get; init; }

    /// <summary>Per-sampler sequence number from 0 (<c>seq_id</c>); 64-bit because unpickled SDK copies start at ~1e9·k.</summary>
    public long? SeqId { get; init; }

    /// <summary>Whether to return per-prompt-token logprobs (<c>prompt_logprobs</c>).</summary>
    public bool? PromptLogprobs { get; init; }

    /// <summary>Top-k alternatives per prompt position (<c>topk_prompt_logprobs</c>), default 0; must be &gt;= 0.</summary>
    public int TopkPromptLogprobs
    {
        get => _topkPromptLogprobs;
        init => _topkPromptLogprobs = WireValidation.AtLeast(value, 0, "sample.topk_prompt_logprobs");
    }

    /// <summary>Wire discriminator, always <c>"sample"</c>.</summary>
    public string Type => "sample";
}
