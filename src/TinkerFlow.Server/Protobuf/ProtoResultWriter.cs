using System.Buffers.Binary;
using Google.Protobuf;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Protobuf;

/// <summary>
/// Encodes <c>forward</c> / <c>forward_backward</c> and <c>sample</c> results as the protobuf messages SDK ≥0.18.1 reads
/// from <c>retrieve_future</c> (wire-protocol §8): <c>ForwardBackwardOutput</c> with one <c>ArrayRecord</c> per run of
/// datums whose outputs have the same fields, dtypes and trailing shapes (each field a <c>BatchedTensor</c>: values
/// concatenated, int64 little-endian <b>byte</b> offsets, num_datums + 1 of them), and <c>SampleResponse</c> (int32
/// tokens, float32 logprobs, NaN for a missing prompt logprob, top-k as two prompt_length × k matrices).
/// </summary>
internal static class ProtoResultWriter
{
    /// <summary>The content type of protobuf answers.</summary>
    public const string ContentType = "application/x-protobuf";

    /// <summary>The logprob of an empty top-k slot.</summary>
    public const float EmptyTopkLogprob = -99999f;

    public static byte[] Write(ForwardBackwardOutput output)
    {
        using var buffer = new MemoryStream();
        var writer = new CodedOutputStream(buffer);
        WriteString(writer, 1, output.LossFnOutputType);
        var outputs = output.LossFnOutputs;
        for (var start = 0; start < outputs.Count;)
        {
            var signature = Signature(outputs[start]);
            var end = start + 1;
            while (end < outputs.Count && Signature(outputs[end]) == signature)
            {
                end++;
            }

            WriteMessage(writer, 2, ArrayRecord(outputs, start, end));
            start = end;
        }

        foreach (var (key, value) in output.Metrics)
        {
            WriteMessage(writer, 3, w =>
            {
                WriteString(w, 1, key);
                w.WriteTag(2, WireFormat.WireType.Fixed64);
                w.WriteDouble(value);
            });
        }

        writer.Flush();
        return buffer.ToArray();
    }

    public static byte[] Write(SampleResponse response)
    {
        using var buffer = new MemoryStream();
        var writer = new CodedOutputStream(buffer);
        foreach (var sequence in response.Sequences)
        {
            WriteMessage(writer, 1, w =>
            {
                if (sequence.StopReason == StopReason.Length)
                {
                    w.WriteTag(1, WireFormat.WireType.Varint);
                    w.WriteEnum(1);
                }

                WriteBytes(w, 2, Int32Bytes(sequence.Tokens));
                if (sequence.Logprobs is { } logprobs)
                {
                    WriteBytes(w, 3, Float32Bytes(logprobs.Select(v => (float)v).ToArray()));
                }
            });
        }

        if (response.PromptLogprobs is { } prompt)
        {
            WriteBytes(writer, 2, Float32Bytes(prompt.Select(v => v is { } x ? (float)x : float.NaN).ToArray()));
        }

        if (response.TopkPromptLogprobs is { } topk)
        {
            var k = topk.Max(row => row?.Count ?? 0);
            var ids = new int[topk.Count * k];
            var logprobs = new float[topk.Count * k];
            Array.Fill(logprobs, EmptyTopkLogprob);
            for (var row = 0; row < topk.Count; row++)
            {
                for (var j = 0; j < (topk[row]?.Count ?? 0); j++)
                {
                    ids[(row * k) + j] = topk[row]![j].TokenId;
                    logprobs[(row * k) + j] = (float)topk[row]![j].Logprob;
                }
            }

            WriteMessage(writer, 3, w =>
            {
                WriteBytes(w, 1, Int32Bytes(ids));
                WriteBytes(w, 2, Float32Bytes(logprobs));
                WriteUInt32(w, 3, (uint)k);
                WriteUInt32(w, 4, (uint)topk.Count);
            });
        }

        if (response.PromptCacheHitTokens != 0)
        {
            writer.WriteTag(4, WireFormat.WireType.Varint);
            writer.WriteInt32(response.PromptCacheHitTokens);
        }

        writer.Flush();
        return buffer.ToArray();
    }

    private static Action<CodedOutputStream> ArrayRecord(IReadOnlyList<IReadOnlyDictionary<string, TensorData>> outputs, int start, int end) => w =>
    {
        WriteString(w, 1, "ArrayRecord");
        foreach (var key in outputs[start].Keys.Order(StringComparer.Ordinal))
        {
            WriteMessage(w, 2, entry =>
            {
                WriteString(entry, 1, key);
                WriteMessage(entry, 2, tensor => BatchedTensor(tensor, outputs, start, end, key));
            });
        }

        w.WriteTag(3, WireFormat.WireType.Varint);
        w.WriteInt64(end - start);
    };

    private static void BatchedTensor(CodedOutputStream w, IReadOnlyList<IReadOnlyDictionary<string, TensorData>> outputs, int start, int end, string key)
    {
        var tensors = Enumerable.Range(start, end - start).Select(i => outputs[i][key].IsSparse ? outputs[i][key].ToDense() : outputs[i][key]).ToList();
        var int64 = tensors[0].Dtype == TensorDType.Int64;
        var size = int64 ? sizeof(long) : sizeof(float);
        var offsets = new byte[(tensors.Count + 1) * sizeof(long)];
        var data = new byte[tensors.Sum(t => t.ElementCount) * size];
        var at = 0;
        for (var i = 0; i < tensors.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(offsets.AsSpan(i * sizeof(long)), at);
            if (int64)
            {
                foreach (var v in tensors[i].AsInt64Span())
                {
                    BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(at), v);
                    at += sizeof(long);
                }
            }
            else
            {
                foreach (var v in tensors[i].AsFloat32Span())
                {
                    BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(at), v);
                    at += sizeof(float);
                }
            }
        }

        BinaryPrimitives.WriteInt64LittleEndian(offsets.AsSpan(tensors.Count * sizeof(long)), at);
        WriteBytes(w, 1, data);
        WriteBytes(w, 2, offsets);
        w.WriteTag(3, WireFormat.WireType.Varint);
        w.WriteEnum(int64 ? ProtoDType.Int64 : ProtoDType.Float32);
        var trailing = TrailingShape(tensors[0]);
        if (trailing.Length > 0)
        {
            var packed = new MemoryStream();
            var p = new CodedOutputStream(packed);
            foreach (var d in trailing)
            {
                p.WriteInt64(d);
            }

            p.Flush();
            WriteBytes(w, 4, packed.ToArray());
        }
    }

    /// <summary>Field names, dtypes and trailing shapes: datums with the same signature share an ArrayRecord.</summary>
    private static string Signature(IReadOnlyDictionary<string, TensorData> output) =>
        string.Join(";", output.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}:{kv.Value.Dtype}:{string.Join(",", TrailingShape(kv.Value))}"));

    private static long[] TrailingShape(TensorData tensor) => tensor.Shape is { Count: > 1 } shape ? [.. shape.Skip(1)] : [];

    private static void WriteMessage(CodedOutputStream writer, int field, Action<CodedOutputStream> body)
    {
        using var buffer = new MemoryStream();
        var inner = new CodedOutputStream(buffer);
        body(inner);
        inner.Flush();
        WriteBytes(writer, field, buffer.ToArray());
    }

    private static void WriteBytes(CodedOutputStream writer, int field, byte[] bytes)
    {
        writer.WriteTag(field, WireFormat.WireType.LengthDelimited);
        writer.WriteBytes(ByteString.CopyFrom(bytes));
    }

    private static void WriteString(CodedOutputStream writer, int field, string value)
    {
        if (value.Length > 0)
        {
            writer.WriteTag(field, WireFormat.WireType.LengthDelimited);
            writer.WriteString(value);
        }
    }

    private static void WriteUInt32(CodedOutputStream writer, int field, uint value)
    {
        if (value != 0)
        {
            writer.WriteTag(field, WireFormat.WireType.Varint);
            writer.WriteUInt32(value);
        }
    }

    private static byte[] Int32Bytes(IReadOnlyList<int> values)
    {
        var bytes = new byte[values.Count * sizeof(int)];
        for (var i = 0; i < values.Count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * sizeof(int)), values[i]);
        }

        return bytes;
    }

    private static byte[] Float32Bytes(float[] values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        }

        return bytes;
    }
}
