using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// The <c>stop</c> field of <see cref="SamplingParams"/>: either stop strings or stop token ids. On the wire it is a
/// JSON string, an array of strings or an array of ints; a single string is written back as a single string.
/// </summary>
[JsonConverter(typeof(StopConditionJsonConverter))]
public sealed class StopCondition : IEquatable<StopCondition>
{
    private StopCondition(IReadOnlyList<string>? strings, IReadOnlyList<int>? tokenIds, bool isSingleString)
    {
        Strings = strings;
        TokenIds = tokenIds;
        IsSingleString = isSingleString;
    }

    /// <summary>The stop strings, or null when this condition holds token ids.</summary>
    public IReadOnlyList<string>? Strings { get; }

    /// <summary>The stop token ids, or null when this condition holds strings.</summary>
    public IReadOnlyList<int>? TokenIds { get; }

    /// <summary>True when the condition was a single JSON string (written back as a string, not an array).</summary>
    public bool IsSingleString { get; }

    /// <summary>A condition with one stop string, written as a JSON string.</summary>
    /// <param name="value">The stop string.</param>
    public static StopCondition FromString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new StopCondition([value], null, isSingleString: true);
    }

    /// <summary>A condition with stop strings, written as a JSON array of strings.</summary>
    /// <param name="values">The stop strings (none may be null).</param>
    public static StopCondition FromStrings(IEnumerable<string> values)
    {
        var copy = WireValidation.Freeze(values, "sampling_params.stop");
        if (copy.Any(s => s is null))
        {
            throw new ArgumentException("sampling_params.stop must not contain null strings.");
        }

        return new StopCondition(copy, null, isSingleString: false);
    }

    /// <summary>A condition with stop token ids, written as a JSON array of ints.</summary>
    /// <param name="tokenIds">The stop token ids.</param>
    public static StopCondition FromTokenIds(IEnumerable<int> tokenIds) =>
        new(null, WireValidation.Freeze(tokenIds, "sampling_params.stop"), isSingleString: false);

    /// <summary>Converts one stop string.</summary>
    /// <param name="value">The stop string.</param>
    public static implicit operator StopCondition(string value) => FromString(value);

    /// <summary>Converts stop strings.</summary>
    /// <param name="values">The stop strings.</param>
    public static implicit operator StopCondition(string[] values) => FromStrings(values);

    /// <summary>Converts stop token ids.</summary>
    /// <param name="tokenIds">The stop token ids.</param>
    public static implicit operator StopCondition(int[] tokenIds) => FromTokenIds(tokenIds);

    /// <inheritdoc/>
    public bool Equals(StopCondition? other) =>
        other is not null
        && IsSingleString == other.IsSingleString
        && (Strings is null ? other.Strings is null : other.Strings is not null && Strings.SequenceEqual(other.Strings))
        && (TokenIds is null ? other.TokenIds is null : other.TokenIds is not null && TokenIds.SequenceEqual(other.TokenIds));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as StopCondition);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(IsSingleString);
        foreach (var s in Strings ?? [])
        {
            hash.Add(s);
        }

        foreach (var t in TokenIds ?? [])
        {
            hash.Add(t);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() =>
        Strings is not null
            ? IsSingleString ? $"\"{Strings[0]}\"" : $"[{string.Join(", ", Strings.Select(s => $"\"{s}\""))}]"
            : $"[{string.Join(", ", TokenIds!)}]";
}
