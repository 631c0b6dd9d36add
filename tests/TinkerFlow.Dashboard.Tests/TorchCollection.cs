namespace TinkerFlow.Dashboard.Tests;

/// <summary>
/// Tests that start a TinkerFlow server drive the real engine (torch has process-global native state), and the browser
/// tests share one chromium, so everything here runs one test at a time.
/// </summary>
[CollectionDefinition("Torch", DisableParallelization = true)]
public sealed class TorchCollection : ICollectionFixture<BrowserFixture>
{
}
