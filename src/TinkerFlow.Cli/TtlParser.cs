using System.Globalization;

namespace TinkerFlow.Cli;

/// <summary>Parses <c>--ttl</c>: seconds (<c>3600</c>), a duration (<c>90s</c>, <c>30m</c>, <c>12h</c>, <c>7d</c>) or
/// <c>none</c> (keep forever).</summary>
internal static class TtlParser
{
    private const string Hint = "Give a positive number of seconds or a duration such as 90s, 30m, 12h or 7d; '--ttl none' keeps the checkpoint forever.";

    /// <summary>The TTL in seconds, or null for none.</summary>
    public static long? Parse(string text)
    {
        var value = text.Trim().ToLowerInvariant();
        if (value is "none" or "never" or "forever")
        {
            return null;
        }

        var (digits, unit) = value.Length > 0 && char.IsLetter(value[^1]) ? (value[..^1], value[^1]) : (value, 's');
        long multiplier = unit switch
        {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => 0,
        };
        if (multiplier == 0 || !long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var amount))
        {
            throw new CliUserException($"'{text}' is not a TTL.", Hint);
        }

        if (amount <= 0)
        {
            throw new CliUserException($"The TTL must be positive, got '{text}'.", Hint);
        }

        if (amount > long.MaxValue / multiplier / 2)
        {
            throw new CliUserException($"The TTL '{text}' is too large.", Hint);
        }

        return amount * multiplier;
    }
}
