namespace TinkerFlow.Types;

/// <summary><c>POST /api/v1/weights_info</c> body: <c>{"tinker_path"}</c>.</summary>
public sealed record WeightsInfoRequest
{
    private readonly string _tinkerPath = "";

    /// <summary>The checkpoint asked about (<c>tinker_path</c>); must start with <c>tinker://</c>.</summary>
    public required string TinkerPath
    {
        get => _tinkerPath;
        init => _tinkerPath = WireValidation.TinkerPathOrNull(WireValidation.NotNull(value, "weights_info.tinker_path"), "weights_info.tinker_path")!;
    }
}
