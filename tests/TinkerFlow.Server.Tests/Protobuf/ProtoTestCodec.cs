using System.Buffers.Binary;
using Google.Protobuf;

namespace TinkerFlow.Server.Tests.Protobuf;

/// <summary>
/// The test's own encoder for <c>tinker_public.ForwardBackwardRequest</c> (shaped like the captured SDK 0.25.0 request)
/// and decoder for <c>ForwardBackwardOutput</c> / <c>SampleResponse</c>, written from the schema in wire-protocol §8
/// independently of the server's codec.
/// </summary>
internal static class ProtoTestCodec
{
    /// <summary>One datum: int32 tokens, int64 target_tokens and float32 weights (dense, shape [n]).</summary>
    public static byte[] ForwardBackwardRequest(string modelId, int seqId, IEnumerable<(int[] Tokens, long[] Targets, float[] Weights)> data, string lossFn, bool forwardOnly)
    {
        return Message(w =>
        {
            String(w, 1, modelId);
            w.WriteTag(2, WireFormat.WireType.Varint);
            w.WriteInt32(seqId);
            foreach (var (tokens, targets, weights) in data)
            {
                Bytes(w, 3, Message(d =>
                {
                    Bytes(d, 1, Message(c => Bytes(c, 1, Message(t => Bytes(t, 1, Le(tokens))))));
                    Bytes(d, 2, Message(e =>
                    {
                        String(e, 1, "target_tokens");
                        Bytes(e, 2, Tensor(Le(targets), dtype: 2, targets.Length));
                    }));
                    Bytes(d, 2, Message(e =>
                    {
                        String(e, 1, "weights");
                        Bytes(e, 2, Tensor(Le(weights), dtype: 1, weights.Length));
                    }));
                }));
            }

            String(w, 4, lossFn);
            if (forwardOnly)
            {
                w.WriteTag(6, WireFormat.WireType.Varint);
                w.WriteBool(true);
            }
        });
    }

    /// <summary>Per datum, each field's values (float32 or int64 widened to double) and shape; plus the metrics.</summary>
    public static (List<Dictionary<string, (double[] Values, long[] Shape)>> Outputs, Dictionary<string, double> Metrics, string Type) ReadForwardBackwardOutput(byte[] bytes)
    {
        var outputs = new List<Dictionary<string, (double[] Values, long[] Shape)>>();
        var metrics = new Dictionary<string, double>();
        var type = "";
        foreach (var (field, value) in Fields(bytes))
        {
            switch (field)
            {
                case 1:
                    type = value.ToStringUtf8();
                    break;
                case 2:
                    outputs.AddRange(ReadArrayRecord(value.ToByteArray()));
                    break;
                case 3:
                    var entry = new CodedInputStream(value.ToByteArray());
                    string key = "";
                    double metric = 0;
                    uint tag;
                    while ((tag = entry.ReadTag()) != 0)
                    {
                        if (WireFormat.GetTagFieldNumber(tag) == 1)
                        {
                            key = entry.ReadString();
                        }
                        else
                        {
                            metric = entry.ReadDouble();
                        }
                    }

                    metrics[key] = metric;
                    break;
            }
        }

        return (outputs, metrics, type);
    }

    /// <summary>Sequences (stop reason, tokens, logprobs) and the prompt logprobs (NaN = none).</summary>
    public static (List<(int StopReason, int[] Tokens, float[]? Logprobs)> Sequences, float[]? PromptLogprobs) ReadSampleResponse(byte[] bytes)
    {
        var sequences = new List<(int, int[], float[]?)>();
        float[]? prompt = null;
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    var sequence = new CodedInputStream(input.ReadBytes().ToByteArray());
                    var stop = 0;
                    int[] tokens = [];
                    float[]? logprobs = null;
                    uint inner;
                    while ((inner = sequence.ReadTag()) != 0)
                    {
                        switch (WireFormat.GetTagFieldNumber(inner))
                        {
                            case 1:
                                stop = sequence.ReadEnum();
                                break;
                            case 2:
                                tokens = Int32s(sequence.ReadBytes().ToByteArray());
                                break;
                            case 3:
                                logprobs = Float32s(sequence.ReadBytes().ToByteArray());
                                break;
                            default:
                                sequence.SkipLastField();
                                break;
                        }
                    }

                    sequences.Add((stop, tokens, logprobs));
                    break;
                case 2:
                    prompt = Float32s(input.ReadBytes().ToByteArray());
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return (sequences, prompt);
    }

    private static IEnumerable<Dictionary<string, (double[] Values, long[] Shape)>> ReadArrayRecord(byte[] bytes)
    {
        long count = 0;
        var fields = new Dictionary<string, (byte[] Data, long[] Offsets, int Dtype, List<long> Trailing)>();
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 2:
                    var entry = new CodedInputStream(input.ReadBytes().ToByteArray());
                    var key = "";
                    (byte[], long[], int, List<long>) tensor = ([], [], 0, []);
                    uint e;
                    while ((e = entry.ReadTag()) != 0)
                    {
                        if (WireFormat.GetTagFieldNumber(e) == 1)
                        {
                            key = entry.ReadString();
                        }
                        else
                        {
                            tensor = ReadBatchedTensor(entry.ReadBytes().ToByteArray());
                        }
                    }

                    fields[key] = tensor;
                    break;
                case 3:
                    count = input.ReadInt64();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        for (var i = 0; i < count; i++)
        {
            var datum = new Dictionary<string, (double[], long[])>();
            foreach (var (key, (data, offsets, dtype, trailing)) in fields)
            {
                var slice = data[(int)offsets[i]..(int)offsets[i + 1]];
                double[] values = dtype == 2 ? [.. Int64s(slice).Select(v => (double)v)] : [.. Float32s(slice).Select(v => (double)v)];
                var inner = trailing.Aggregate(1L, (a, b) => a * b);
                datum[key] = (values, [values.Length / inner, .. trailing]);
            }

            yield return datum;
        }
    }

    private static (byte[] Data, long[] Offsets, int Dtype, List<long> Trailing) ReadBatchedTensor(byte[] bytes)
    {
        byte[] data = [];
        long[] offsets = [];
        var dtype = 0;
        var trailing = new List<long>();
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    data = input.ReadBytes().ToByteArray();
                    break;
                case 2:
                    offsets = Int64s(input.ReadBytes().ToByteArray());
                    break;
                case 3:
                    dtype = input.ReadEnum();
                    break;
                case 4:
                    var packed = new CodedInputStream(input.ReadBytes().ToByteArray());
                    while (!packed.IsAtEnd)
                    {
                        trailing.Add(packed.ReadInt64());
                    }

                    break;
            }
        }

        return (data, offsets, dtype, trailing);
    }

    private static IEnumerable<(int Field, ByteString Value)> Fields(byte[] bytes)
    {
        var input = new CodedInputStream(bytes);
        var list = new List<(int, ByteString)>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            Assert.Equal(WireFormat.WireType.LengthDelimited, WireFormat.GetTagWireType(tag));
            list.Add((WireFormat.GetTagFieldNumber(tag), input.ReadBytes()));
        }

        return list;
    }

    private static byte[] Tensor(byte[] dense, int dtype, long length) => Message(t =>
    {
        Bytes(t, 1, dense);
        t.WriteTag(3, WireFormat.WireType.Varint);
        t.WriteEnum(dtype);
        Bytes(t, 4, Message(s => s.WriteInt64(length)));
    });

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        write(output);
        output.Flush();
        return buffer.ToArray();
    }

    private static void Bytes(CodedOutputStream w, int field, byte[] value)
    {
        w.WriteTag(field, WireFormat.WireType.LengthDelimited);
        w.WriteBytes(ByteString.CopyFrom(value));
    }

    private static void String(CodedOutputStream w, int field, string value)
    {
        w.WriteTag(field, WireFormat.WireType.LengthDelimited);
        w.WriteString(value);
    }

    private static byte[] Le(int[] values) => [.. values.SelectMany(BitConverter.GetBytes)];

    private static byte[] Le(long[] values) => [.. values.SelectMany(BitConverter.GetBytes)];

    private static byte[] Le(float[] values) => [.. values.SelectMany(BitConverter.GetBytes)];

    private static int[] Int32s(byte[] bytes) => [.. Enumerable.Range(0, bytes.Length / 4).Select(i => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4)))];

    private static long[] Int64s(byte[] bytes) => [.. Enumerable.Range(0, bytes.Length / 8).Select(i => BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i * 8)))];

    private static float[] Float32s(byte[] bytes) => [.. Enumerable.Range(0, bytes.Length / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4)))];
}
