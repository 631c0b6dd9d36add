using System.Globalization;

namespace TinkerFlow.Types;

/// <summary>Shared argument checks for wire types; every message names the wire field it is about.</summary>
internal static class WireValidation
{
    internal static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    internal static T NotNull<T>(T? value, string field)
        where T : class =>
        value ?? throw new ArgumentNullException(field, $"{field} must not be null.");

    internal static double NonNegative(double value, string field) =>
        value >= 0 ? value : throw new ArgumentException($"{field} must be >= 0, got {Format(value)}.");

    internal static double Positive(double value, string field) =>
        value > 0 ? value : throw new ArgumentException($"{field} must be > 0, got {Format(value)}.");

    internal static double InHalfOpenUnit(double value, string field) =>
        value is >= 0 and < 1 ? value : throw new ArgumentException($"{field} must be in [0, 1), got {Format(value)}.");

    internal static long AtLeast(long value, long min, string field) =>
        value >= min ? value : throw new ArgumentException($"{field} must be >= {min}, got {value}.");

    internal static int AtLeast(int value, int min, string field) =>
        value >= min ? value : throw new ArgumentException($"{field} must be >= {min}, got {value}.");

    internal static long? AtLeast(long? value, long min, string field) =>
        value is null ? null : AtLeast(value.Value, min, field);

    internal static int? AtLeast(int? value, int min, string field) =>
        value is null ? null : AtLeast(value.Value, min, field);

    internal static string? TinkerPathOrNull(string? value, string field) =>
        value is null || ParsedCheckpointTinkerPath.IsCheckpointPath(value)
            ? value
            : throw new ArgumentException($"{field} must start with '{ParsedCheckpointTinkerPath.Scheme}' (or '{ParsedCheckpointTinkerPath.LogitsScheme}'), got '{value}'.");

    internal static string ImageFormat(string value, string field)
    {
        NotNull(value, field);
        return value is "png" or "jpeg"
            ? value
            : throw new ArgumentException($"{field} must be \"png\" or \"jpeg\", got \"{value}\".");
    }

    /// <summary>Checks a checkpoint name (the last segment of a tinker path); returns null if it is fine,
    /// else the reason.</summary>
    internal static string? CheckpointNameProblem(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "the name is empty";
        }

        if (name.Contains('/') || name.Contains('\\'))
        {
            return "the name contains a path separator";
        }

        if (name == "." || name.Contains("..", StringComparison.Ordinal))
        {
            return "the name contains '..' or is '.'";
        }

        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                return "the name contains a control character";
            }
        }

        return null;
    }

    internal static string CheckpointName(string value, string field)
    {
        NotNull(value, field);
        var problem = CheckpointNameProblem(value);
        return problem is null
            ? value
            : throw new ArgumentException($"{field} must be a checkpoint name (non-empty, no '/', no '..', no control characters), got \"{value}\": {problem}.");
    }

    internal static string? CheckpointNameOrNull(string? value, string field) =>
        value is null ? null : CheckpointName(value, field);

    internal static IReadOnlyList<T> Freeze<T>(IEnumerable<T> value, string field)
    {
        NotNull(value, field);
        return value is T[] array ? (T[])array.Clone() : value.ToArray();
    }
}
