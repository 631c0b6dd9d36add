using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// Short-lived tokens that open the dashboard's event stream in server mode: <c>EventSource</c> cannot send the
/// <c>X-API-Key</c> header, and an API key in a URL would end up in logs and browser history. The page trades its key
/// for a token (<c>POST /dashboard/api/stream-token</c>) and passes that as <c>?token=</c>. Format:
/// <c>base64url(user|expiry).base64url(HMAC-SHA256)</c>; a token only has to be valid when the stream opens.
/// </summary>
internal sealed class StreamTokenSigner(byte[] secret, TimeProvider time)
{
    private static readonly byte[] s_purpose = "tinkerflow-dashboard-stream\n"u8.ToArray();

    public string Sign(string user, DateTimeOffset expires)
    {
        var payload = Encoding.UTF8.GetBytes($"{user}|{expires.ToUnixTimeSeconds()}");
        return $"{Base64Url.EncodeToString(payload)}.{Base64Url.EncodeToString(Mac(payload))}";
    }

    /// <summary>The user a valid, unexpired token was issued to; otherwise null and why.</summary>
    public string? Verify(string? token, out string problem)
    {
        problem = "the stream token is malformed; get a new one from POST /dashboard/api/stream-token";
        var dot = token?.IndexOf('.', StringComparison.Ordinal) ?? -1;
        if (token is null || dot <= 0)
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

        if (!CryptographicOperations.FixedTimeEquals(Mac(payload), signature))
        {
            problem = "the stream token's signature is invalid (was the server's secret replaced?)";
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
            problem = "the stream token has expired; get a new one from POST /dashboard/api/stream-token";
            return null;
        }

        problem = "";
        return text[..bar];
    }

    private byte[] Mac(byte[] payload) => HMACSHA256.HashData(secret, s_purpose.Concat(payload).ToArray());
}
