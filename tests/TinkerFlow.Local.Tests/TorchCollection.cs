namespace TinkerFlow.Local.Tests;

/// <summary>
/// Torch tests share process-global native state (thread count, default dtype), so they run one at a time.
/// </summary>
[CollectionDefinition("Torch", DisableParallelization = true)]
public sealed class TorchCollection
{
}
