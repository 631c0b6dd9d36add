namespace TinkerFlow.Torch.Tests;

/// <summary>
/// Torch tests share process-global native state (thread count, default dtype, the live-tensor count), so they run one at a time.
/// </summary>
[CollectionDefinition("Torch", DisableParallelization = true)]
public sealed class TorchCollection
{
}
