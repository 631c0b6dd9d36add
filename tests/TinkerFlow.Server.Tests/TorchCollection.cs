namespace TinkerFlow.Server.Tests;

/// <summary>
/// Every server test drives the real engine (torch has process-global native state), so they run one at a time.
/// </summary>
[CollectionDefinition("Torch", DisableParallelization = true)]
public sealed class TorchCollection
{
}
