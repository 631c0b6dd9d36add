using TinkerFlow.Internal;

namespace TinkerFlow.Tests.Clients;

public sealed class MetricCombinationTests
{
    private static Dictionary<string, double> Combine(params (int Datums, Dictionary<string, double> Metrics)[] chunks) =>
        ForwardBackwardCombiner.CombineMetrics(chunks.Select(c => (IReadOnlyDictionary<string, double>)c.Metrics).ToList(), chunks.Select(c => c.Datums).ToList());

    [Fact]
    public void Sum_AddsAcrossChunks() =>
        Assert.Equal(6.5, Combine((1, new() { ["loss:sum"] = 2.5 }), (3, new() { ["loss:sum"] = 4 }))["loss:sum"]);

    [Fact]
    public void Mean_IsWeightedByDatumCount() =>
        Assert.Equal((1 * 1.0 + 3 * 5.0) / 4, Combine((1, new() { ["acc:mean"] = 1 }), (3, new() { ["acc:mean"] = 5 }))["acc:mean"], 12);

    [Fact]
    public void MinAndMax_TakeTheExtremes()
    {
        var r = Combine((2, new() { ["a:min"] = 3, ["b:max"] = 3 }), (2, new() { ["a:min"] = -1, ["b:max"] = 9 }));
        Assert.Equal(-1, r["a:min"]);
        Assert.Equal(9, r["b:max"]);
    }

    [Fact]
    public void Slack_IsMaxMinusWeightedMean() =>
        Assert.Equal(4 - ((1 * 1.0) + (1 * 4.0)) / 2, Combine((1, new() { ["s:slack"] = 1 }), (1, new() { ["s:slack"] = 4 }))["s:slack"], 12);

    [Fact]
    public void Unique_KeepsEveryValueUnderNumberedKeys()
    {
        var r = Combine((1, new() { ["id:unique"] = 7 }), (1, new() { ["id:unique"] = 8 }), (1, new() { ["id:unique"] = 9 }));
        Assert.Equal(7, r["id:unique"]);
        Assert.Equal(8, r["id:unique_2"]);
        Assert.Equal(9, r["id:unique_3"]);
    }

    [Fact]
    public void KeysMissingFromAnyChunkAndUnknownReductions_AreDropped()
    {
        var r = Combine((1, new() { ["only:sum"] = 1, ["h:hash_unordered"] = 3, ["x:weird"] = 1 }), (1, new() { ["h:hash_unordered"] = 3, ["x:weird"] = 1 }));
        Assert.Empty(r);
    }
}
