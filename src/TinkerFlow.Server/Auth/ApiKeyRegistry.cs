using System.Security.Cryptography;
using TinkerFlow.Server.Storage;

namespace TinkerFlow.Server.Auth;

/// <summary>
/// The API keys this server accepts (each key is one user). Keys come from <see cref="ServerOptions.ApiKeys"/> /
/// <c>TINKERFLOW_API_KEYS</c>; without any, one key is generated, written to <c>&lt;home&gt;/server-api-key</c> and
/// reused on later starts. The database keeps only SHA-256 hashes of keys and the user id of each.
/// </summary>
internal sealed class ApiKeyRegistry
{
    public const string KeyPrefix = "tml-";
    public const string GeneratedKeyFileName = "server-api-key";

    private readonly IReadOnlyDictionary<string, string> _users;

    public ApiKeyRegistry(SqliteRunStore store, IReadOnlyList<string>? configured)
    {
        var keys = configured?.ToList() ?? [];
        foreach (var key in keys)
        {
            if (!key.StartsWith(KeyPrefix, StringComparison.Ordinal) || key.Length < KeyPrefix.Length + 8 || key.Any(char.IsWhiteSpace))
            {
                throw new ArgumentException($"API key '{Mask(key)}' is invalid: keys start with '{KeyPrefix}', have at least 8 more characters and no spaces (TINKERFLOW_API_KEYS is comma-separated).");
            }
        }

        if (keys.Count == 0)
        {
            var file = Path.Combine(store.Home, GeneratedKeyFileName);
            if (File.Exists(file))
            {
                keys.Add(File.ReadAllText(file).Trim());
            }
            else
            {
                var key = $"{KeyPrefix}{RandomNumberGenerator.GetHexString(40, lowercase: true)}";
                File.WriteAllText(file, key + "\n");
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }

                keys.Add(key);
            }

            GeneratedKey = keys[0];
        }

        _users = store.SetActiveKeys(keys);
    }

    /// <summary>The key the server generated (or reloaded) because none was configured; null otherwise.</summary>
    public string? GeneratedKey { get; }

    /// <summary>How many keys are accepted.</summary>
    public int Count => _users.Count;

    /// <summary>The user a key belongs to, or null when the key is not accepted.</summary>
    public string? FindUser(string? key) =>
        key is null || !key.StartsWith(KeyPrefix, StringComparison.Ordinal) ? null
        : _users.TryGetValue(SqliteRunStore.HashKey(key), out var user) ? user : null;

    private static string Mask(string key) => key.Length <= 8 ? "***" : $"{key[..6]}…";
}
