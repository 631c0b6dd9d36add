using System.Runtime.InteropServices;
using TinkerFlow.Torch.Native;

namespace TinkerFlow.Local.Engine;

/// <summary>
/// Process-level native set-up of the engine. libtorch on glibc malloc keeps freed memory (RSS grows ~50 MB per
/// training step, engine-notes §1); scripts/setup.sh preloads tcmalloc, and without it the engine returns freed heap
/// to the OS with <c>malloc_trim</c> every few steps. It also installs the loader of TorchSharp's native library
/// (<see cref="TorchNativeLibrary"/>).
/// </summary>
internal static partial class NativeSetup
{
    private const int TrimEvery = 8;
    private static int s_initialized;
    private static int s_steps;
    private static bool s_trim;

    public static void EnsureInitialized()
    {
        if (Interlocked.Exchange(ref s_initialized, 1) == 1)
        {
            return;
        }

        TorchNativeLibrary.EnsureInstalled();
        var preload = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? string.Empty;
        s_trim = OperatingSystem.IsLinux() && !preload.Contains("tcmalloc", StringComparison.Ordinal) && !preload.Contains("jemalloc", StringComparison.Ordinal);
    }

    /// <summary>Called after each training step or sample; trims the glibc heap every few calls when no better allocator is loaded.</summary>
    public static void AfterStep()
    {
        if (!s_trim || Interlocked.Increment(ref s_steps) % TrimEvery != 0)
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            s_trim = false;
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
