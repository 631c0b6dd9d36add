namespace TinkerFlow.Local.Tests.Backend;

/// <summary>The backend-independent client suite on the embedded engine.</summary>
[Collection("Torch")]
public sealed class LocalClientSuiteTests : ClientSuite
{
    private readonly TempHome _home = new();
    private LocalBackend? _backend;

    protected override Task<TinkerBackend> CreateBackendAsync()
    {
        _backend = new LocalBackend(new LocalBackendOptions { HomeDirectory = _home.Path, ModelDirectories = new Dictionary<string, string>() });
        return Task.FromResult<TinkerBackend>(_backend);
    }

    protected override async Task DisposeBackendAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }

        _home.Dispose();
    }
}
