namespace TinkerFlow.Cli.Tests;

/// <summary>Tests that start the embedded engine share process-global torch state, so they run one at a time.</summary>
[CollectionDefinition("Torch", DisableParallelization = true)]
public sealed class TorchCollection
{
}
