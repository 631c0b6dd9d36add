namespace TinkerFlow.Local.Tests.Backend;

/// <summary>How <c>new ServiceClient()</c> finds the embedded engine: a registration, not a type looked up by name.</summary>
[Collection("Torch")]
public sealed class DefaultBackendTests
{
    [Fact]
    public void ReferencingTinkerFlowLocal_RegistersTheEngine_WithNoCall()
    {
        // This assembly never calls RegisterAsDefault: the module initializer from TinkerFlow.Local.targets did.
        Assert.True(DefaultBackend.IsRegistered);
    }

    [Fact]
    public async Task NewServiceClient_WithoutBackendOrUrl_UsesTheSharedEngine()
    {
        LocalBackend.RegisterAsDefault(); // an explicit call as well changes nothing
        await using var service = new ServiceClient(new TinkerClientOptions { BaseUrl = null });
        Assert.Same(LocalBackend.Shared, service.Backend);
    }
}
