namespace TinkerFlow.Cookbook.Tests.Checkpoints;

/// <summary>A fresh log directory under the temp folder, deleted on dispose.</summary>
internal sealed class TempLogDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cookbook-log-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
