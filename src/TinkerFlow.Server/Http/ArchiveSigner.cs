using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace TinkerFlow.Server.Http;

/// <summary>
/// Signed, expiring download tokens for checkpoint archives: <c>base64url(file|expiry).base64url(HMAC-SHA256)</c>.
/// The token is the credential (like a pre-signed object-store URL): whoever holds it may download until it expires.
/// </summary>
internal sealed class ArchiveSigner(byte[] secret, TimeProvider time)
{
    public string Sign(string fileName, DateTimeOffset expires)
    {
        var payload = Encoding.UTF8.GetBytes($"{fileName}|{expires.ToUnixTimeSeconds()}");
        return $"{Base64Url.EncodeToString(payload)}.{Base64Url.EncodeToString(HMACSHA256.HashData(secret, payload))}";
    }

    /// <summary>The archive file name in a valid, unexpired token; otherwise null and why.</summary>
    public string? Verify(string token, out string problem)
    {
        problem = "the download link is malformed";
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0)
        {
            return null;
        }

        byte[] payload;
        byte[] signature;
        try
        {
            payload = Base64Url.DecodeFromChars(token.AsSpan(0, dot));
            signature = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return null;
        }

        if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(secret, payload), signature))
        {
            problem = "the download link's signature is invalid";
            return null;
        }

        var text = Encoding.UTF8.GetString(payload);
        var bar = text.LastIndexOf('|');
        if (bar <= 0 || !long.TryParse(text.AsSpan(bar + 1), out var expiry))
        {
            return null;
        }

        if (DateTimeOffset.FromUnixTimeSeconds(expiry) <= time.GetUtcNow())
        {
            problem = "the download link has expired; ask for a new one (GET …/checkpoints/{kind}/{name}/archive)";
            return null;
        }

        var name = text[..bar];
        if (name.Length == 0 || name.IndexOfAny(['/', '\\']) >= 0 || name.Contains("..", StringComparison.Ordinal))
        {
            return null;
        }

        problem = "";
        return name;
    }
}
