using System.Text;
using System.Text.Json;
using TinkerFlow.Types;

namespace TinkerFlow.Tests.Types;

public class TinkerJsonTests
{
    private sealed record NotRegistered(int X);

    [Fact]
    public void TinkerJson_UnregisteredTypeNamesTheFix()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => TinkerJson.Serialize(new NotRegistered(1)));
        Assert.Contains("not registered in TinkerJsonContext", ex.Message);
        Assert.Contains("JsonSerializable(typeof(NotRegistered))", ex.Message);
    }

    [Fact]
    public void TinkerJson_NullJsonIsAnError() =>
        Assert.Contains("got null", Assert.Throws<JsonException>(() => TinkerJson.Deserialize<HealthResponse>("null")).Message);

    [Fact]
    public void TinkerJson_Utf8StreamAndElementOverloadsAgree()
    {
        var json = """{"request_id":"r","queue_state":"paused_capacity","type":"try_again"}""";
        var fromString = TinkerJson.Deserialize<TryAgainResponse>(json);
        var fromBytes = TinkerJson.Deserialize<TryAgainResponse>(Encoding.UTF8.GetBytes(json));
        using var doc = JsonDocument.Parse(json);
        var fromElement = TinkerJson.Deserialize<TryAgainResponse>(doc.RootElement);
        Assert.Equal(fromString, fromBytes);
        Assert.Equal(fromString, fromElement);
        Assert.Equal(QueueState.PausedCapacity, fromString.QueueState);
        Assert.Equal(Encoding.UTF8.GetBytes(TinkerJson.Serialize(fromString)), TinkerJson.SerializeToUtf8Bytes(fromString));
    }

    [Fact]
    public async Task TinkerJson_StreamRoundTrip()
    {
        using var stream = new MemoryStream();
        await TinkerJson.SerializeAsync(stream, new UntypedApiFuture { RequestId = "r", ModelId = "m" });
        stream.Position = 0;
        var back = await TinkerJson.DeserializeAsync<UntypedApiFuture>(stream);
        Assert.Equal(new UntypedApiFuture { RequestId = "r", ModelId = "m" }, back);
    }

    [Fact]
    public void TinkerJson_InvalidNestedValueIsJsonExceptionWithFieldName()
    {
        var ex = Assert.Throws<JsonException>(() => TinkerJson.Deserialize<SampleRequest>(
            """{"prompt":{"chunks":[]},"sampling_params":{"top_p":0},"type":"sample"}"""));
        Assert.Contains("sampling_params.top_p", ex.Message);
    }
}
