namespace TinkerFlow.Local.Training;

/// <summary>
/// What one built-in loss function accepts: its required and optional <c>loss_fn_inputs</c> and its
/// <c>loss_fn_config</c> keys with their defaults (wire spec §11).
/// </summary>
/// <param name="Name">The wire name, e.g. <c>ppo</c>.</param>
/// <param name="RequiredInputs">Input names every datum must carry.</param>
/// <param name="OptionalInputs">Input names a datum may carry.</param>
/// <param name="ConfigDefaults">Accepted config keys and the value used when a key is absent.</param>
/// <param name="AllowsSoftTargets">Whether <c>target_tokens</c> may be (N, K) with (N, K) <c>weights</c>.</param>
internal sealed record LossFunctionSpec(
    string Name,
    IReadOnlyList<string> RequiredInputs,
    IReadOnlyList<string> OptionalInputs,
    IReadOnlyDictionary<string, double> ConfigDefaults,
    bool AllowsSoftTargets)
{
    /// <summary>Required then optional input names, in that order.</summary>
    public IEnumerable<string> AcceptedInputs => RequiredInputs.Concat(OptionalInputs);
}
