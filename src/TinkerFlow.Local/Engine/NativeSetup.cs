using System.Runtime.InteropServices;
using TinkerFlow.Torch.Native;

namespace TinkerFlow.Local.Engine;

/// <summary>
/// Process-level native set-up of the engine. libtorch on glibc malloc keeps freed memory (RSS grows ~50 MB per
/// training step, engine-notes §1); scripts/setup.sh preloads tcmalloc, and without it the engine returns freed heap
/// to the OS with <c>malloc_trim</c> every few steps, and after every step whose working set was large (a real-size
/// model's forward_backward fragments the heap by gigabytes, engine-notes §1). It also asks libtorch for transparent
/// huge pages on its large CPU buffers (<c>THP_MEM_ALLOC_ENABLE</c>: 2 MB pages, so a freshly mapped activation costs
/// one page fault per 2 MB instead of per 4 KB) and installs the loader of TorchSharp's native library
/// (<see cref="TorchNativeLibrary"/>).
/// </summary>
internal static partial class NativeSetup
{
    private const int TrimEvery = 8;

    /// <summary>A step whose estimated working set reaches this many bytes trims the heap right after it.</summary>
    public const long LargeStepBytes = 256L << 20;
    private static int s_initialized;
    private static int s_steps;
    private static bool s_trim;

    public static void EnsureInitialized()
    {
        if (Interlocked.Exchange(ref s_initialized, 1) == 1)
        {
            return;
        }

        if (OperatingSystem.IsLinux())
        {
            // Read once by libtorch at its first CPU allocation; .NET's Environment.SetEnvironmentVariable does not reach
            // the native environment on Unix, so set it through libc. An explicit setting (0 or 1) is kept.
            try
            {
                _ = SetEnv("THP_MEM_ALLOC_ENABLE", "1", 0);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                // No libc setenv: libtorch keeps its 4 KB pages.
            }
        }

        TorchNativeLibrary.EnsureInstalled();
        var preload = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? string.Empty;
        s_trim = OperatingSystem.IsLinux() && !preload.Contains("tcmalloc", StringComparison.Ordinal) && !preload.Contains("jemalloc", StringComparison.Ordinal);
    }

    /// <summary>
    /// Called after each training step or sample; trims the glibc heap every few calls, or at once after a step whose
    /// estimated working set was at least <see cref="LargeStepBytes"/>, when no better allocator is loaded.
    /// </summary>
    /// <param name="workingSetBytes">The step's estimated peak memory beyond the weights (0 when unknown or small).</param>
    public static void AfterStep(long workingSetBytes = 0)
    {
        if (!s_trim || (Interlocked.Increment(ref s_steps) % TrimEvery != 0 && workingSetBytes < LargeStepBytes))
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

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
