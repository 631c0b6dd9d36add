using System.Collections.Concurrent;

namespace TinkerFlow.Tokenization;

/// <summary>
/// Finds and loads (once per name) the tokenizer of a remote model on this machine, with no user code: first in the
/// folder of <see cref="TinkerClientOptions.TokenizerDirectory"/> (<c>TINKERFLOW_TOKENIZERS</c>), then in the Hugging Face
/// cache (<c>&lt;hub&gt;/models--Org--Name/snapshots/*/tokenizer.json</c>). Failing both, the error says where it looked
/// and what to set.
/// </summary>
internal sealed class TokenizerLocator(string? tokenizerDirectory, string? huggingFaceHubCache)
{
    private readonly ConcurrentDictionary<string, Lazy<HuggingFaceTokenizer>> _cache = new(StringComparer.Ordinal);

    /// <summary>Returns the tokenizer for a model or tokenizer name (anything after a ':' is dropped), loading it once.</summary>
    /// <exception cref="InvalidOperationException">No tokenizer was found; the message lists the places looked at.</exception>
    /// <exception cref="InvalidDataException">A tokenizer file was found but is malformed or unsupported.</exception>
    public HuggingFaceTokenizer Resolve(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        string key = StripRevision(name);
        var lazy = _cache.GetOrAdd(key, k => new Lazy<HuggingFaceTokenizer>(() => Load(k), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _cache.TryRemove(key, out _);
            throw;
        }
    }

    /// <summary>The Hugging Face hub cache: <c>HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>.</summary>
    public static string DefaultHuggingFaceHubCache()
    {
        if (Environment.GetEnvironmentVariable("HF_HUB_CACHE") is { Length: > 0 } hubCache)
        {
            return hubCache;
        }

        if (Environment.GetEnvironmentVariable("HF_HOME") is { Length: > 0 } home)
        {
            return Path.Combine(home, "hub");
        }

        string cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cache, "huggingface", "hub");
    }

    private static string StripRevision(string name)
    {
        int colon = name.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? name[..colon] : name;
    }

    private HuggingFaceTokenizer Load(string name)
    {
        var looked = new List<string>();
        if (tokenizerDirectory is { Length: > 0 })
        {
            foreach (string candidate in (string[])[
                Path.Combine(tokenizerDirectory, name),
                Path.Combine(tokenizerDirectory, name.Replace('/', '_')),
                Path.Combine(tokenizerDirectory, name.Replace("/", "--", StringComparison.Ordinal)),
                Path.Combine(tokenizerDirectory, Path.GetFileName(name))])
            {
                if (looked.Contains(candidate))
                {
                    continue;
                }

                looked.Add(candidate);
                if (HasTokenizer(candidate))
                {
                    return HuggingFaceTokenizer.Load(candidate, name);
                }
            }
        }
        else
        {
            looked.Add("no tokenizer folder (TinkerClientOptions.TokenizerDirectory / TINKERFLOW_TOKENIZERS is not set)");
        }

        if (huggingFaceHubCache is { Length: > 0 })
        {
            string repo = Path.Combine(huggingFaceHubCache, "models--" + name.Replace("/", "--", StringComparison.Ordinal));
            looked.Add(Path.Combine(repo, "snapshots", "*", "tokenizer.json"));
            if (FindSnapshot(repo) is { } snapshot)
            {
                return HuggingFaceTokenizer.Load(snapshot, name);
            }
        }

        throw new InvalidOperationException(
            $"No tokenizer for '{name}' on this machine (the Tinker service has no tokenizer endpoint, so TinkerFlow loads "
            + $"tokenizer.json locally). Looked in: {string.Join("; ", looked)}. Put the model's tokenizer.json (and "
            + "tokenizer_config.json) in <folder>/<Org>/<Name>/ and set TINKERFLOW_TOKENIZERS=<folder> (or "
            + "TinkerClientOptions.TokenizerDirectory), download the model into the Hugging Face cache (HF_HOME), or set "
            + "TinkerClientOptions.TokenizerResolver.");
    }

    private static bool HasTokenizer(string directory) =>
        File.Exists(Path.Combine(directory, "tokenizer.json")) || File.Exists(Path.Combine(directory, "tokenizer.json.gz"));

    /// <summary>The snapshot that <c>refs/main</c> names when it has a tokenizer, else the newest snapshot with one.</summary>
    private static string? FindSnapshot(string repo)
    {
        string snapshots = Path.Combine(repo, "snapshots");
        if (!Directory.Exists(snapshots))
        {
            return null;
        }

        string main = Path.Combine(repo, "refs", "main");
        if (File.Exists(main) && File.ReadAllText(main).Trim() is { Length: > 0 } commit
            && commit.IndexOfAny(Path.GetInvalidFileNameChars()) < 0
            && HasTokenizer(Path.Combine(snapshots, commit)))
        {
            return Path.Combine(snapshots, commit);
        }

        return Directory.EnumerateDirectories(snapshots)
            .Where(HasTokenizer)
            .OrderByDescending(d => File.GetLastWriteTimeUtc(Path.Combine(d, "tokenizer.json")))
            .ThenBy(d => d, StringComparer.Ordinal)
            .FirstOrDefault();
    }
}
