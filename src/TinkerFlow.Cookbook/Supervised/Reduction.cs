namespace TinkerFlow.Cookbook.Supervised;

/// <summary>How a supervised datum's loss weights are normalised (the cookbook's <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>
    /// Per-example token mean (<c>"mean"</c>, the SFT default since cookbook PR #334): each datum's weights are scaled
    /// to sum to 1, so long and short examples count equally and the effective LR does not swing with batch length.
    /// </summary>
    Mean,

    /// <summary>Token sum (<c>"none"</c> in the cookbook): weights stay 0/1 and the loss sums over tokens.</summary>
    Sum,
}
