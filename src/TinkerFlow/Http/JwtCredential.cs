using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace TinkerFlow.Http;

/// <summary>
/// JWT mode (wire spec §2.3): the API key is exchanged for a short-lived JWT that is then sent as <c>X-API-Key</c>.
/// The token is refreshed on use once fewer than 300 s remain; a failed refresh keeps the old token (while it is
/// still valid for more than 60 s) and is not retried for 60 s.
/// </summary>
internal sealed class JwtCredential
{
    private static readonly TimeSpan RefreshBefore = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan MustRefreshBefore = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan FailureBackoff = TimeSpan.FromSeconds(60);

    private readonly Func<CancellationToken, Task<string>> _fetch;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private string? _jwt;
    private DateTimeOffset _expires;
    private DateTimeOffset _retryAfter = DateTimeOffset.MinValue;

    public JwtCredential(Func<CancellationToken, Task<string>> fetch, TimeProvider time, ILogger logger)
    {
        _fetch = fetch;
        _time = time;
        _logger = logger;
    }

    /// <summary>Returns a JWT that is valid for a while, fetching or refreshing it as needed.</summary>
    /// <param name="cancellationToken">Cancels a fetch.</param>
    public async ValueTask<string> GetAsync(CancellationToken cancellationToken)
    {
        if (Usable(_time.GetUtcNow()) is { } current)
        {
            return current;
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            if (Usable(now) is { } raced)
            {
                return raced;
            }

            try
            {
                var jwt = await _fetch(cancellationToken).ConfigureAwait(false);
                _expires = ReadExpiry(jwt);
                _jwt = jwt;
                return jwt;
            }
            catch (TinkerRequestException ex) when (_jwt is not null && _expires - now > TimeSpan.Zero)
            {
                _retryAfter = now + FailureBackoff;
                _logger.LogWarning(ex, "Refreshing the Tinker JWT failed; using the current one until {Expires}.", _expires);
                return _jwt;
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Reads <c>exp</c> (unix seconds) from a JWT's payload; a token without one never expires.</summary>
    /// <param name="jwt">The token.</param>
    public static DateTimeOffset ReadExpiry(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            throw new TinkerRequestException("The Tinker service returned a malformed JWT from /api/v1/auth/token (expected three dot-separated parts).");
        }

        try
        {
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
            using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload)));
            return doc.RootElement.TryGetProperty("exp", out var exp) && exp.TryGetDouble(out var seconds)
                ? DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000))
                : DateTimeOffset.MaxValue;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentOutOfRangeException)
        {
            throw new TinkerRequestException("The Tinker service returned a JWT whose payload is not base64url JSON.", innerException: ex);
        }
    }

    private string? Usable(DateTimeOffset now)
    {
        if (_jwt is null)
        {
            return null;
        }

        var left = _expires - now;
        if (left > RefreshBefore)
        {
            return _jwt;
        }

        // Inside the refresh window: keep using the token while a recent refresh failed and it is not about to expire.
        return now < _retryAfter && left > MustRefreshBefore ? _jwt : null;
    }
}
