using System.Runtime.InteropServices;

namespace TinkerFlow.Local.Engine;

/// <summary>
/// Runs a function on libtorch's own OpenMP team (<c>GOMP_parallel</c> of the libgomp that libtorch loaded), so that a
/// managed kernel uses every intra-op thread without competing with them: the calling thread and libtorch's workers run
/// it, the same threads that run libtorch's own parallel regions from that caller (engine-notes, "Products with few
/// rows"). A second set of .NET threads would fight OpenMP's spinning workers for the cores instead.
/// </summary>
/// <remarks>
/// The library is found among the process's mapped files (<c>/proc/self/maps</c>), so only after libtorch has loaded,
/// and only on Linux; <see cref="IsAvailable"/> is false elsewhere and callers keep to libtorch's own ops. GNU's libgomp
/// and LLVM's/Intel's OpenMP (which exports the same <c>GOMP_</c> entry points) are both accepted.
/// </remarks>
internal static unsafe class OpenMpTeam
{
    private static readonly Lazy<Entry?> s_entry = new(Find, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>True when libtorch's OpenMP runtime was found.</summary>
    public static bool IsAvailable => s_entry.Value is not null;

    /// <summary>
    /// Runs <paramref name="body"/>(<paramref name="state"/>) on <paramref name="threads"/> threads of the caller's
    /// OpenMP team (the caller is thread 0) and returns when all have finished. <paramref name="body"/> must not throw,
    /// and reads its thread's number and the team size from <see cref="ThreadNumber"/> and <see cref="TeamSize"/>.
    /// </summary>
    /// <returns>False, having run nothing, when <see cref="IsAvailable"/> is false.</returns>
    public static bool TryRun(delegate* unmanaged<void*, void> body, void* state, int threads)
    {
        var entry = s_entry.Value;
        if (entry is null)
        {
            return false;
        }

        entry.Parallel(body, state, (uint)Math.Max(1, threads), 0);
        return true;
    }

    /// <summary>This thread's number in the running team (0 for the caller); call only from a body run by <see cref="TryRun"/>.</summary>
    public static int ThreadNumber() => s_entry.Value!.ThreadNum();

    /// <summary>The running team's size; call only from a body run by <see cref="TryRun"/>.</summary>
    public static int TeamSize() => s_entry.Value!.NumThreads();

    private sealed class Entry
    {
        public required delegate* unmanaged<delegate* unmanaged<void*, void>, void*, uint, uint, void> Parallel { get; init; }
        public required delegate* unmanaged<int> ThreadNum { get; init; }
        public required delegate* unmanaged<int> NumThreads { get; init; }
    }

    private static Entry? Find()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            // libtorch loads its OpenMP runtime as a dependency; torch is initialised by the time a kernel asks.
            _ = TorchSharp.torch.get_num_threads();
            foreach (var path in LoadedLibraries())
            {
                var name = Path.GetFileName(path);
                if (!name.StartsWith("libgomp", StringComparison.Ordinal) && !name.StartsWith("libiomp5", StringComparison.Ordinal)
                    && !name.StartsWith("libomp", StringComparison.Ordinal))
                {
                    continue;
                }
                if (NativeLibrary.TryLoad(path, out var handle)
                    && NativeLibrary.TryGetExport(handle, "GOMP_parallel", out var parallel)
                    && NativeLibrary.TryGetExport(handle, "omp_get_thread_num", out var threadNum)
                    && NativeLibrary.TryGetExport(handle, "omp_get_num_threads", out var numThreads))
                {
                    return new Entry
                    {
                        Parallel = (delegate* unmanaged<delegate* unmanaged<void*, void>, void*, uint, uint, void>)parallel,
                        ThreadNum = (delegate* unmanaged<int>)threadNum,
                        NumThreads = (delegate* unmanaged<int>)numThreads,
                    };
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or TypeInitializationException or DllNotFoundException)
        {
            // No maps file, or no torch: libtorch's own ops run every product.
        }
        return null;
    }

    /// <summary>The paths of the shared objects mapped into this process, in the order of <c>/proc/self/maps</c>.</summary>
    private static IEnumerable<string> LoadedLibraries()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                continue;
            }
            var path = line[slash..];
            if (path.Contains(".so", StringComparison.Ordinal) && seen.Add(path))
            {
                yield return path;
            }
        }
    }
}
