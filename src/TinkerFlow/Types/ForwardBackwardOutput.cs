using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// Result of forward / forward_backward: <c>{"loss_fn_output_type":str,"loss_fn_outputs":[{name:TensorData}],"metrics":{str:float}}</c>.
/// Per datum, <c>logprobs</c> (float32 [N]) and usually <c>elementwise_loss</c>; metric keys are <c>name:reduction</c>.
/// </summary>
public sealed record ForwardBackwardOutput
{
    /// <summary>Creates an output; set <see cref="LossFnOutputType"/> and <see cref="LossFnOutputs"/>.</summary>
    public ForwardBackwardOutput()
    {
    }

    // System.Text.Json source generation resets init-only properties that are missing from the JSON to default(T)
    // (dotnet/runtime#84484); deserialisation goes through this constructor so missing fields keep the SDK defaults.
    [JsonConstructor]
    internal ForwardBackwardOutput(IReadOnlyDictionary<string, double>? metrics = null) =>
        Metrics = metrics ?? new Dictionary<string, double>();

    /// <summary>Informational record class name (<c>loss_fn_output_type</c>), e.g. <c>"ArrayRecord"</c>.</summary>
    public required string LossFnOutputType { get; init; }

    /// <summary>One dictionary of output tensors per datum, in request order (<c>loss_fn_outputs</c>).</summary>
    public required IReadOnlyList<IReadOnlyDictionary<string, TensorData>> LossFnOutputs { get; init; }

    /// <summary>Metrics (<c>metrics</c>), keys with exactly one colon, e.g. <c>loss:sum</c>.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}
