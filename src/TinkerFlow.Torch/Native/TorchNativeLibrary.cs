using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using System.Security.Cryptography;
using TorchSharp;

namespace TinkerFlow.Torch.Native;

/// <summary>
/// Makes TorchSharp's native library load on Linux systems whose libstdc++ is older than the one it was built with,
/// for every program that uses TinkerFlow.Torch or the embedded engine — in this repository and outside it, under
/// <c>dotnet run</c>, <c>dotnet test</c> or a published app — with no build step and no <c>LD_LIBRARY_PATH</c>.
/// Installed by this assembly's module initializer (<see cref="TorchNativeModule"/>) and by the engine
/// (TinkerFlow.Local) before it first uses TorchSharp.
/// </summary>
/// <remarks>
/// <para>TorchSharp 0.107's <c>libLibTorchSharp.so</c> was built with GCC 13 and carries a version need on
/// <c>GLIBCXX_3.4.32</c>, which Debian 12's libstdc++ (3.4.30) lacks, so <c>dlopen</c> fails and TorchSharp reports
/// <c>DllNotFoundException: LibTorchSharp</c>. The only symbol bound to that version is
/// <c>_ZSt21ios_base_library_initv</c>, an &lt;iostream&gt; marker with no relocations, so the need can be weak.</para>
/// <para><see cref="EnsureInstalled"/> handles <see cref="AssemblyLoadContext.ResolvingUnmanagedDll"/> for the TorchSharp
/// assembly (TorchSharp's own <c>NativeLibrary.TryLoad</c> ends there) and sets its
/// <see cref="NativeLibrary.SetDllImportResolver"/> (its P/Invokes ask that first). On the first load of <c>LibTorchSharp</c> it finds
/// the library among the application's native search directories; if its <c>GLIBCXX_3.4.32</c> need is strong and the
/// library does not load as it is, it writes a copy with that need marked weak (<see cref="ElfVersionNeeds"/>) to
/// <c>$XDG_CACHE_HOME/tinkerflow/native</c> (default <c>~/.cache</c>; the temporary folder when that is not writable),
/// named by the original's SHA-256, loads libtorch from the original folder and then the copy. Every other case falls
/// through to .NET's normal probing, and the NuGet cache is never modified.</para>
/// </remarks>
internal static class TorchNativeLibrary
{
    internal const string LibraryName = "LibTorchSharp";
    internal const string FileName = "libLibTorchSharp.so";
    internal const string VersionName = "GLIBCXX_3.4.32";

    // The libraries libLibTorchSharp.so needs (DT_NEEDED) from its own folder, loaded before a copy that lives elsewhere.
    private static readonly string[] s_siblings = ["libc10.so", "libtorch_cpu.so", "libtorch.so"];
    private static readonly Lazy<IntPtr> s_handle = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    private static int s_installed;

    /// <summary>Installs the resolver once per process (Linux only; a no-op elsewhere and on later calls).</summary>
    public static void EnsureInstalled()
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref s_installed, 1) == 1)
        {
            return;
        }

        var torchSharp = typeof(torch).Assembly;
        // TorchSharp first loads the library with NativeLibrary.TryLoad(name, assembly), which ends with this event
        // when .NET's probing fails; its P/Invokes then ask the DllImport resolver first.
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += (assembly, name) => assembly == torchSharp ? Resolve(name, assembly, null) : IntPtr.Zero;
        try
        {
            NativeLibrary.SetDllImportResolver(torchSharp, Resolve);
        }
        catch (InvalidOperationException)
        {
            // Someone else set TorchSharp's resolver; the event above still answers, after .NET's probing.
        }
    }

    /// <summary>Where the patched copy goes: <c>$XDG_CACHE_HOME/tinkerflow/native</c>, else <c>~/.cache/tinkerflow/native</c>.</summary>
    internal static string CacheDirectory()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "tinkerflow", "native");
    }

    /// <summary>The application's native search folders (<c>NATIVE_DLL_SEARCH_DIRECTORIES</c>), then the app and TorchSharp folders.</summary>
    internal static IEnumerable<string> SearchDirectories()
    {
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string dirs)
        {
            foreach (var dir in dirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                yield return dir;
            }
        }

        foreach (var baseDir in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(torch).Assembly.Location) })
        {
            if (!string.IsNullOrEmpty(baseDir))
            {
                yield return baseDir;
                yield return Path.Combine(baseDir, "runtimes", "linux-x64", "native");
            }
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> unless the file already holds them: a unique temporary name, then a rename.</summary>
    internal static void WriteIfDifferent(string path, byte[] bytes)
    {
        if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == LibraryName ? s_handle.Value : IntPtr.Zero;

    private static IntPtr Load()
    {
        var original = SearchDirectories().Select(d => Path.Combine(d, FileName)).FirstOrDefault(File.Exists);
        if (original is null)
        {
            return IntPtr.Zero; // .NET's probing reports what it looked for.
        }

        var bytes = File.ReadAllBytes(original);
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
        if (ElfVersionNeeds.MarkWeak(bytes, VersionName).Marked == 0)
        {
            return IntPtr.Zero; // Nothing to fix: .NET's normal probing loads it.
        }

        if (NativeLibrary.TryLoad(original, out var handle))
        {
            return handle; // This system's libstdc++ has the version.
        }

        var copyName = $"libLibTorchSharp-{hash}.so";
        string copy;
        try
        {
            copy = Path.Combine(CacheDirectory(), copyName);
            WriteIfDifferent(copy, bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            copy = Path.Combine(Path.GetTempPath(), $"tinkerflow-native-{Environment.UserName}", copyName);
            WriteIfDifferent(copy, bytes);
        }

        var folder = Path.GetDirectoryName(original)!;
        foreach (var sibling in s_siblings)
        {
            var path = Path.Combine(folder, sibling);
            _ = File.Exists(path) ? NativeLibrary.TryLoad(path, out _) : NativeLibrary.TryLoad(sibling, typeof(torch).Assembly, null, out _);
        }

        try
        {
            return NativeLibrary.Load(copy);
        }
        catch (DllNotFoundException ex)
        {
            throw new DllNotFoundException(
                $"{original} needs {VersionName}, which this system's libstdc++ lacks, and its copy with that need marked weak ({copy}) did not load either: {ex.Message}", ex);
        }
    }
}

/// <summary>Installs <see cref="TorchNativeLibrary"/> when TinkerFlow.Torch loads, before any of its types runs TorchSharp.</summary>
internal static class TorchNativeModule
{
#pragma warning disable CA2255 // A library module initializer: the loader must be in place before TorchSharp's first native call.
    [ModuleInitializer]
    internal static void Initialize() => TorchNativeLibrary.EnsureInstalled();
#pragma warning restore CA2255
}
