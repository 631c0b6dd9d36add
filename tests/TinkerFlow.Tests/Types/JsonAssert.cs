using System.Text.Json;

namespace TinkerFlow.Tests.Types;

/// <summary>Semantic JSON equality: same key sets (order ignored), arrays element-wise, numbers by value.</summary>
internal static class JsonAssert
{
    public static void Equal(string expectedJson, string actualJson)
    {
        using var expected = JsonDocument.Parse(expectedJson);
        using var actual = JsonDocument.Parse(actualJson);
        var difference = FindDifference(expected.RootElement, actual.RootElement, "$");
        Assert.True(difference is null, $"{difference}\nexpected: {expectedJson}\nactual:   {actualJson}");
    }

    /// <summary>Returns a description of the first difference, or null when the two are equal.</summary>
    public static string? FindDifference(JsonElement expected, JsonElement actual, string path)
    {
        if (expected.ValueKind != actual.ValueKind)
        {
            return $"{path}: expected {expected.ValueKind} but got {actual.ValueKind}";
        }

        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var expectedKeys = expected.EnumerateObject().Select(p => p.Name).ToHashSet();
                var actualKeys = actual.EnumerateObject().Select(p => p.Name).ToHashSet();
                var missing = expectedKeys.Except(actualKeys).ToList();
                var extra = actualKeys.Except(expectedKeys).ToList();
                if (missing.Count > 0 || extra.Count > 0)
                {
                    return $"{path}: missing keys [{string.Join(", ", missing)}], extra keys [{string.Join(", ", extra)}]";
                }

                foreach (var property in expected.EnumerateObject())
                {
                    var inner = FindDifference(property.Value, actual.GetProperty(property.Name), $"{path}.{property.Name}");
                    if (inner is not null)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                if (expected.GetArrayLength() != actual.GetArrayLength())
                {
                    return $"{path}: expected {expected.GetArrayLength()} elements but got {actual.GetArrayLength()}";
                }

                var index = 0;
                foreach (var (e, a) in expected.EnumerateArray().Zip(actual.EnumerateArray()))
                {
                    var inner = FindDifference(e, a, $"{path}[{index++}]");
                    if (inner is not null)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Number:
                var same = expected.TryGetInt64(out var el) && actual.TryGetInt64(out var al)
                    ? el == al
                    : expected.GetDouble() == actual.GetDouble();
                return same ? null : $"{path}: expected {expected.GetRawText()} but got {actual.GetRawText()}";
            case JsonValueKind.String:
                return expected.GetString() == actual.GetString()
                    ? null
                    : $"{path}: expected \"{expected.GetString()}\" but got \"{actual.GetString()}\"";
            default:
                return null; // true/false/null: kinds already equal
        }
    }
}
