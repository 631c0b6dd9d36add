using BenchmarkDotNet.Attributes;
using TinkerFlow.Benchmarks.Engine;
using TinkerFlow.Types;

namespace TinkerFlow.Benchmarks.Suites;

/// <summary>
/// TinkerJson (source-generated System.Text.Json) on a <c>forward_backward</c> request of 128 cross_entropy datums of
/// 256 tokens each (target_tokens int64 + weights float32): serialise, parse, and the round trip.
/// </summary>
[Config(typeof(JsonInProcessConfig))]
public class SerializationBenchmarks
{
    private ForwardBackwardRequest _request = null!;
    private byte[] _json = [];

    [Params(128)]
    public int Datums { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _request = RequestFactory.ForwardBackward(Datums, length: 256, vocabSize: 151_643, seed: 3);
        _json = TinkerJson.SerializeToUtf8Bytes(_request);
    }

    [Benchmark]
    public byte[] Serialize() => TinkerJson.SerializeToUtf8Bytes(_request);

    [Benchmark]
    public ForwardBackwardRequest Deserialize() => TinkerJson.Deserialize<ForwardBackwardRequest>(_json);

    [Benchmark(Baseline = true)]
    public ForwardBackwardRequest RoundTrip() => TinkerJson.Deserialize<ForwardBackwardRequest>(TinkerJson.SerializeToUtf8Bytes(_request));
}
