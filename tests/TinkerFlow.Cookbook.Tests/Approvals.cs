using System.Runtime.CompilerServices;

namespace TinkerFlow.Cookbook.Tests;

/// <summary>
/// Golden-text checks: compares text with <c>Approved/&lt;name&gt;.approved.txt</c> in the test project; on a mismatch
/// (or a missing file) writes <c>&lt;name&gt;.received.txt</c> beside it and fails. Approve by renaming the file.
/// </summary>
internal static class Approvals
{
    public static void Verify(string received, string name, [CallerFilePath] string callerPath = "")
    {
        var directory = Path.Combine(FindProjectDirectory(callerPath), "Approved");
        var approvedPath = Path.Combine(directory, name + ".approved.txt");
        var receivedPath = Path.Combine(directory, name + ".received.txt");
        received = received.ReplaceLineEndings("\n");
        if (File.Exists(approvedPath) && File.ReadAllText(approvedPath).ReplaceLineEndings("\n") == received)
        {
            File.Delete(receivedPath);
            return;
        }

        Directory.CreateDirectory(directory);
        File.WriteAllText(receivedPath, received);
        Assert.Fail(File.Exists(approvedPath)
            ? $"'{name}' differs from {approvedPath}. Review {receivedPath} and rename it to .approved.txt if the change is intended."
            : $"No approved text for '{name}'. Review {receivedPath} and rename it to .approved.txt.");
    }

    private static string FindProjectDirectory(string callerPath)
    {
        var directory = Path.GetDirectoryName(callerPath);
        while (directory is not null && !Directory.EnumerateFiles(directory, "*.csproj").Any())
        {
            directory = Path.GetDirectoryName(directory);
        }

        return directory ?? throw new InvalidOperationException($"No .csproj above {callerPath}.");
    }
}
