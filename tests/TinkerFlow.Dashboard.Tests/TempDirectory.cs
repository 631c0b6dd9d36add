namespace TinkerFlow.Dashboard.Tests;

/// <summary>A throw-away folder (TINKERFLOW_HOME or a recipe log path) for one test.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "tinkerflow-dashboard-test-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

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
