using System.Globalization;

namespace TinkerFlow.Benchmarks.Engine;

/// <summary>Reads the process's memory high-water marks from <c>/proc/self/status</c> (Linux only).</summary>
internal static class ProcessMemory
{
    /// <summary>Peak resident set size (VmHWM) in bytes, or null where /proc is unavailable.</summary>
    public static long? PeakResidentBytes() => ReadKilobytes("VmHWM:") * 1024;

    /// <summary>Current resident set size (VmRSS) in bytes, or null where /proc is unavailable.</summary>
    public static long? ResidentBytes() => ReadKilobytes("VmRSS:") * 1024;

    /// <summary>Resets the peak resident set (VmHWM) to the current one through <c>/proc/self/clear_refs</c>; false where unsupported.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long? ReadKilobytes(string key)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
        {
            return null;
        }

        foreach (string line in File.ReadLines(path))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                // "VmHWM:	  123456 kB"
                string number = line[key.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(number, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
