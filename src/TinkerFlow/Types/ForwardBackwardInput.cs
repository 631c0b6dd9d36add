namespace TinkerFlow.Types;

/// <summary>
/// The payload of a forward / forward_backward request: <c>{"data":[Datum],"loss_fn":str,"loss_fn_config"?:{str:float}}</c>.
/// </summary>
public sealed record ForwardBackwardInput
{
    private readonly IReadOnlyList<Datum> _data = [];
    private readonly string _lossFn = LossFnType.CrossEntropy;

    /// <summary>The examples (<c>data</c>).</summary>
    public required IReadOnlyList<Datum> Data
    {
        get => _data;
        init
        {
            var copy = WireValidation.Freeze(value, "forward_backward_input.data");
            if (copy.Any(d => d is null))
            {
                throw new ArgumentException("forward_backward_input.data must not contain null datums.");
            }

            _data = copy;
        }
    }

    /// <summary>The loss function name (<c>loss_fn</c>), see <see cref="LossFnType"/>; must not be empty.</summary>
    public required string LossFn
    {
        get => _lossFn;
        init => _lossFn = string.IsNullOrEmpty(value)
            ? throw new ArgumentException("forward_backward_input.loss_fn must be a loss function name, got an empty value.")
            : value;
    }

    /// <summary>Loss settings (<c>loss_fn_config</c>), e.g. <c>clip_low_threshold</c>; omitted when null.</summary>
    public IReadOnlyDictionary<string, double>? LossFnConfig { get; init; }
}
