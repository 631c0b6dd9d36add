using System.Runtime.InteropServices;
using System.Text;
using TinkerFlow.Torch.Native;
using TorchSharp;

namespace TinkerFlow.Torch.Tests.Native;

/// <summary>
/// The engine's loader of libLibTorchSharp.so (GLIBCXX_3.4.32 need marked weak on a copy). This test assembly gets the
/// loader the way package consumers do: the module initializer of buildTransitive/TinkerFlow.Local.targets.
/// </summary>
[Collection("Torch")]
public sealed class TorchNativeLibraryTests
{
    [Fact]
    public void TorchNative_LoadsBeforeAnyEngineType()
    {
        using var t = torch.tensor(new float[] { 1.5f, 2.5f }) * 2;
        Assert.Equal(new float[] { 3f, 5f }, t.data<float>().ToArray());
    }

    [Fact]
    public void LoadedLibrary_IsTheOriginal_WhenLibstdcxxHasTheVersion_ElseTheWeakenedCopy()
    {
        using var t = torch.ones(2);
        var maps = File.ReadAllLines("/proc/self/maps");
        var libTorchSharp = maps.Select(Path).Where(p => p.Contains("libLibTorchSharp", StringComparison.Ordinal)).Distinct().ToList();
        var libstdcxx = maps.Select(Path).First(p => p.Contains("libstdc++.so", StringComparison.Ordinal));
        var hasVersion = ContainsAscii(File.ReadAllBytes(libstdcxx), TorchNativeLibrary.VersionName);

        var loaded = Assert.Single(libTorchSharp);
        if (hasVersion)
        {
            Assert.EndsWith("/" + TorchNativeLibrary.FileName, loaded, StringComparison.Ordinal);
        }
        else
        {
            Assert.StartsWith(TorchNativeLibrary.CacheDirectory(), loaded, StringComparison.Ordinal);
            var (marked, alreadyWeak) = ElfVersionNeeds.MarkWeak(File.ReadAllBytes(loaded), TorchNativeLibrary.VersionName);
            Assert.Equal((0, 1), (marked, alreadyWeak));
        }

        static string Path(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { Length: >= 6 } f ? f[5] : "";
    }

    [Fact]
    public void MarkWeak_OnTheShippedLibrary_MarksTheOneNeedOnce()
    {
        var original = TorchNativeLibrary.SearchDirectories()
            .Select(d => System.IO.Path.Combine(d, TorchNativeLibrary.FileName))
            .First(File.Exists);
        var bytes = File.ReadAllBytes(original);
        var before = (byte[])bytes.Clone();

        Assert.Equal((1, 0), ElfVersionNeeds.MarkWeak(bytes, TorchNativeLibrary.VersionName));
        Assert.Equal((0, 1), ElfVersionNeeds.MarkWeak(bytes, TorchNativeLibrary.VersionName));
        Assert.Equal((0, 0), ElfVersionNeeds.MarkWeak(bytes, "GLIBCXX_9.9.99"));
        var changed = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != before[i]).ToList();
        Assert.Single(changed); // one flags byte: VER_FLG_WEAK (2) set
        Assert.Equal(before[changed[0]] | 2, bytes[changed[0]]);
    }

    [Fact]
    public void MarkWeak_OnANonElfFile_FailsClearly()
    {
        var ex = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.MarkWeak(Encoding.ASCII.GetBytes("#!/bin/sh\necho not a library\n".PadRight(80)), "GLIBCXX_3.4.32"));
        Assert.Contains("ELF64", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MarkWeak_OnATruncatedElf_FailsClearly()
    {
        var original = TorchNativeLibrary.SearchDirectories()
            .Select(d => System.IO.Path.Combine(d, TorchNativeLibrary.FileName))
            .First(File.Exists);
        var head = File.ReadAllBytes(original)[..4096];
        var ex = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.MarkWeak(head, "GLIBCXX_3.4.32"));
        Assert.Contains("outside the file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteIfDifferent_WritesOnce_AndRewritesAChangedFile()
    {
        var dir = Directory.CreateTempSubdirectory("tinkerflow-native-test");
        try
        {
            var path = System.IO.Path.Combine(dir.FullName, "lib.so");
            TorchNativeLibrary.WriteIfDifferent(path, [1, 2, 3]);
            var firstWrite = File.GetLastWriteTimeUtc(path);
            File.SetLastWriteTimeUtc(path, firstWrite.AddHours(-1));

            TorchNativeLibrary.WriteIfDifferent(path, [1, 2, 3]);
            Assert.Equal(firstWrite.AddHours(-1), File.GetLastWriteTimeUtc(path)); // same bytes: left alone

            File.WriteAllBytes(path, [9]);
            TorchNativeLibrary.WriteIfDifferent(path, [1, 2, 3]);
            Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
            Assert.Equal(["lib.so"], Directory.GetFiles(dir.FullName).Select(System.IO.Path.GetFileName));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static bool ContainsAscii(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(Encoding.ASCII.GetBytes(needle)) >= 0;
}
