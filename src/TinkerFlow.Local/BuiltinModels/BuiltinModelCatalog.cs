using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace TinkerFlow.Local.BuiltinModels;

/// <summary>
/// The models embedded in TinkerFlow.Local (their files are the <c>BuiltinModels/&lt;folder&gt;/*.json</c> embedded
/// resources). Assets load on first use and are cached.
/// </summary>
internal static class BuiltinModelCatalog
{
    /// <summary>The default model: a tiny Qwen3-architecture model with a byte-level tokenizer.</summary>
    public const string TinyQwen3 = "tinkerflow/tiny-qwen3";

    /// <summary>The prefix of every built-in model resource (the csproj's <c>LogicalName</c>).</summary>
    internal const string ResourcePrefix = "TinkerFlow.Local.BuiltinModels/";

    private static readonly Dictionary<string, string> s_folders = new(StringComparer.OrdinalIgnoreCase)
    {
        [TinyQwen3] = "tiny-qwen3",
    };

    private static readonly ConcurrentDictionary<string, Lazy<BuiltinModelAssets>> s_cache = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The built-in model names.</summary>
    public static IReadOnlyList<string> Names { get; } = [TinyQwen3];

    /// <summary>Whether <paramref name="name"/> is a built-in model (names compare case-insensitively).</summary>
    /// <param name="name">A model name such as <c>tinkerflow/tiny-qwen3</c>.</param>
    /// <returns>True for a built-in model.</returns>
    public static bool Contains(string name) => s_folders.ContainsKey(name);

    /// <summary>Gets a built-in model's assets, loading them on first use.</summary>
    /// <param name="name">A model name such as <c>tinkerflow/tiny-qwen3</c>.</param>
    /// <param name="assets">The assets, when the name is built in.</param>
    /// <returns>True when the name is built in.</returns>
    public static bool TryGet(string name, [NotNullWhen(true)] out BuiltinModelAssets? assets)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!s_folders.TryGetValue(name, out string? folder))
        {
            assets = null;
            return false;
        }

        string canonical = Names.First(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
        assets = s_cache.GetOrAdd(canonical, _ => new Lazy<BuiltinModelAssets>(() => Load(canonical, folder))).Value;
        return true;
    }

    private static BuiltinModelAssets Load(string name, string folder)
    {
        Assembly assembly = typeof(BuiltinModelCatalog).Assembly;
        string prefix = ResourcePrefix + folder + "/";
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames())
        {
            // On Windows the csproj's %(RecursiveDir) yields backslashes.
            string normalized = resource.Replace('\\', '/');
            if (!normalized.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            using Stream stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[normalized[prefix.Length..]] = copy.ToArray();
        }

        return new BuiltinModelAssets(name, files, prefix);
    }
}
