namespace TinkerFlow.Local.Tests.Backend;

/// <summary>A throw-away TINKERFLOW_HOME for one test.</summary>
internal sealed class TempHome : IDisposable
{
    public TempHome() => Path = Directory.CreateTempSubdirectory("tinkerflow-test-").FullName;

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
