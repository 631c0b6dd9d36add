using static TorchSharp.torch;

namespace TinkerFlow.Local.Training;

/// <summary>
/// The loss of a batch of datums. Tensors are moved to the caller's dispose scope.
/// </summary>
/// <param name="Loss">Scalar float32 attached to the graph: the sum of the datum losses (call <c>backward()</c> on it).</param>
/// <param name="Datums">Per-datum results in request order.</param>
/// <param name="Metrics">Metrics with single-colon names; currently <c>loss:sum</c>.</param>
internal sealed record BatchLossResult(
    Tensor Loss,
    IReadOnlyList<DatumLossResult> Datums,
    IReadOnlyDictionary<string, double> Metrics);
