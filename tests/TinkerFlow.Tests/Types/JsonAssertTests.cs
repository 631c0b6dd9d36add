namespace TinkerFlow.Tests.Types;

public class JsonAssertTests
{
    [Theory]
    [InlineData("""{"a":1,"b":[1.0,2]}""", """{"b":[1,2.0],"a":1.00}""")]
    [InlineData("""{"x":null,"y":true}""", """{"y":true,"x":null}""")]
    public void FindDifference_EqualModuloKeyOrderAndNumberForm(string expected, string actual) =>
        JsonAssert.Equal(expected, actual);

    [Theory]
    [InlineData("""{"a":1}""", """{"a":1,"b":2}""", "extra keys [b]")]
    [InlineData("""{"a":[1,2]}""", """{"a":[1]}""", "$.a: expected 2 elements")]
    [InlineData("""{"a":1}""", """{"a":1.5}""", "$.a: expected 1 but got 1.5")]
    [InlineData("""{"a":"x"}""", """{"a":null}""", "$.a: expected String but got Null")]
    [InlineData("""{"a":9007199254740993}""", """{"a":9007199254740992}""", "$.a")]
    public void FindDifference_ReportsFirstDifference(string expected, string actual, string fragment)
    {
        using var e = System.Text.Json.JsonDocument.Parse(expected);
        using var a = System.Text.Json.JsonDocument.Parse(actual);
        var difference = JsonAssert.FindDifference(e.RootElement, a.RootElement, "$");
        Assert.NotNull(difference);
        Assert.Contains(fragment, difference);
    }
}
