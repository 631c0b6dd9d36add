namespace TinkerFlow.Cookbook.Tests.Fakes;

/// <summary>A REST client that records checkpoint deletions.</summary>
internal sealed class FakeRestClient : RestClient
{
    public List<string> Deleted { get; } = [];

    public override Task DeleteCheckpointFromTinkerPathAsync(string tinkerPath, CancellationToken cancellationToken = default)
    {
        Deleted.Add(tinkerPath);
        return Task.CompletedTask;
    }
}
