using System.Buffers.Binary;
using Google.Protobuf;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Protobuf;

/// <summary>
/// Decodes the protobuf <c>ForwardBackwardRequest</c> of SDK ≥0.25 (wire-protocol §8, package <c>tinker_public</c>)
/// into the JSON wire types, with Google.Protobuf's <see cref="CodedInputStream"/>. Unknown fields are skipped; a known
/// field with the wrong wire type, a malformed length or a byte array whose size does not fit its dtype is a
/// <see cref="FormatException"/> whose message names the field.
/// </summary>
internal static class ProtoRequestReader
{
    /// <summary>A decoded request: the JSON-form request and whether it asked for <c>forward_only</c>.</summary>
    public sealed record Decoded(string ModelId, int? SeqId, ForwardBackwardInput Input, bool ForwardOnly);

    public static Decoded ReadForwardBackward(ReadOnlySpan<byte> bytes)
    {
        var modelId = "";
        var seqId = 0;
        var lossFn = "";
        var forwardOnly = false;
        var data = new List<Datum>();
        Dictionary<string, double>? config = null;
        var input = new CodedInputStream(bytes.ToArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    Expect(tag, WireFormat.WireType.LengthDelimited, "model_id");
                    modelId = input.ReadString();
                    break;
                case 2:
                    Expect(tag, WireFormat.WireType.Varint, "seq_id");
                    seqId = input.ReadInt32();
                    break;
                case 3:
                    Expect(tag, WireFormat.WireType.LengthDelimited, "data");
                    data.Add(ReadDatum(input.ReadBytes().Span, $"data[{data.Count}]"));
                    break;
                case 4:
                    Expect(tag, WireFormat.WireType.LengthDelimited, "loss_fn");
                    lossFn = input.ReadString();
                    break;
                case 5:
                    Expect(tag, WireFormat.WireType.LengthDelimited, "loss_fn_config");
                    var (key, value) = ReadDoubleEntry(input.ReadBytes().Span, "loss_fn_config");
                    (config ??= new Dictionary<string, double>(StringComparer.Ordinal))[key] = value;
                    break;
                case 6:
                    Expect(tag, WireFormat.WireType.Varint, "forward_only");
                    forwardOnly = input.ReadBool();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        if (modelId.Length == 0)
        {
            throw new FormatException("model_id is missing or empty.");
        }

        if (lossFn.Length == 0)
        {
            throw new FormatException("loss_fn is missing or empty.");
        }

        Datum[] datums = [.. data];
        return new Decoded(modelId, seqId == 0 ? null : seqId, new ForwardBackwardInput { Data = datums, LossFn = lossFn, LossFnConfig = config }, forwardOnly);
    }

    private static Datum ReadDatum(ReadOnlySpan<byte> bytes, string where)
    {
        var chunks = new List<ModelInputChunk>();
        var inputs = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        var input = new CodedInputStream(bytes.ToArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    Expect(tag, WireFormat.WireType.LengthDelimited, $"{where}.model_input");
                    chunks.Add(ReadChunk(input.ReadBytes().Span, $"{where}.model_input[{chunks.Count}]"));
                    break;
                case 2:
                    Expect(tag, WireFormat.WireType.LengthDelimited, $"{where}.loss_fn_inputs");
                    var (key, tensor) = ReadTensorEntry(input.ReadBytes().Span, $"{where}.loss_fn_inputs");
                    inputs[key] = tensor;
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return new Datum { ModelInput = new ModelInput { Chunks = chunks }, LossFnInputs = inputs };
    }

    private static ModelInputChunk ReadChunk(ReadOnlySpan<byte> bytes, string where)
    {
        ModelInputChunk? chunk = null;
        var input = new CodedInputStream(bytes.ToArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    Expect(tag, WireFormat.WireType.LengthDelimited, $"{where}.encoded_text");
                    chunk = new EncodedTextChunk(ReadTokens(input.ReadBytes().Span, $"{where}.encoded_text"));
                    break;
                case 2:
                    Expect(tag, WireFormat.WireType.LengthDelimited, $"{where}.image");
                    chunk = ReadImage(input.ReadBytes().Span, $"{where}.image");
                    break;
                case 3:
                    throw new FormatException($"{where} is a dmel chunk; this server takes encoded_text and image chunks only.");
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return chunk ?? throw new FormatException($"{where} has no chunk (encoded_text or image).");
    }

    private static int[] ReadTokens(ReadOnlySpan<byte> bytes, string where)
    {
        var input = new CodedInputStream(bytes.ToArray());
        var tokens = Array.Empty<int>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 1)
            {
                Expect(tag, WireFormat.WireType.LengthDelimited, $"{where}.tokens");
                tokens = Int32s(input.ReadBytes().Span, $"{where}.tokens");
            }
            else
            {
                input.SkipLastField();
            }
        }

        return tokens;
    }

    private static ImageChunk ReadImage(ReadOnlySpan<byte> bytes, string where)
    {
        var input = new CodedInputStream(bytes.ToArray());
        byte[] data = [];
        var format = "";
        int? expected = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    Expect(tag, WireFormat.WireType.LengthDelimited, $"{where}.data");
                    data = input.ReadBytes().ToByteArray();
                    break;
                case 2:
                    Expect(tag, WireFormat.WireType.LengthDelimited, $"{where}.format");
                    format = input.ReadString();
                    break;
                case 3:
                    Expect(tag, WireFormat.WireType.Varint, $"{where}.expected_tokens");
                    expected = input.ReadInt32();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return new ImageChunk { Data = data, Format = format, ExpectedTokens = expected };
    }

    private static (string Key, TensorData Tensor) ReadTensorEntry(ReadOnlySpan<byte> bytes, string where)
    {
        var input = new CodedInputStream(bytes.ToArray());
        var key = "";
        ReadOnlyMemory<byte> value = default;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    Expect(tag, WireFormat.WireType.LengthDelimited, $"{where} key");
                    key = input.ReadString();
                    break;
                case 2:
                    Expect(tag, WireFormat.WireType.LengthDelimited, $"{where} value");
                    value = input.ReadBytes().Memory;
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return (key, ReadTensor(value.Span, $"{where}.{key}"));
    }

    private static TensorData ReadTensor(ReadOnlySpan<byte> bytes, string where)
    {
        var input = new CodedInputStream(bytes.ToArray());
        byte[]? dense = null;
        (byte[] Values, byte[] Crow, byte[] Col)? sparse = null;
        var dtype = 0;
        var shape = new List<long>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    Expect(tag, WireFormat.WireType.LengthDelimited, $"{where}.dense");
                    dense = input.ReadBytes().ToByteArray();
                    sparse = null;
                    break;
                case 2:
                    Expect(tag, WireFormat.WireType.LengthDelimited, $"{where}.sparse_csr");
                    sparse = ReadSparse(input.ReadBytes().Span, $"{where}.sparse_csr");
                    dense = null;
                    break;
                case 3:
                    Expect(tag, WireFormat.WireType.Varint, $"{where}.dtype");
                    dtype = input.ReadEnum();
                    break;
                case 4:
                    ReadInt64s(input, tag, shape, $"{where}.shape");
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        long[]? dims = shape.Count == 0 ? null : [.. shape];
        if (sparse is { } csr)
        {
            if (dims is not { Length: 2 })
            {
                throw new FormatException($"{where} is sparse_csr but its shape is not 2-D.");
            }

            var values = dtype switch
            {
                ProtoDType.Float32 => Float32s(csr.Values, $"{where}.sparse_csr.values").Select(v => (double)v).ToArray(),
                ProtoDType.Int64 => Int64s(csr.Values, $"{where}.sparse_csr.values").Select(v => (double)v).ToArray(),
                _ => throw UnsupportedDtype(dtype, where),
            };
            return TensorData.FromSparseCsr(
                dtype == ProtoDType.Int64 ? TensorDType.Int64 : TensorDType.Float32,
                values,
                Int64s(csr.Crow, $"{where}.sparse_csr.crow_indices"),
                Int64s(csr.Col, $"{where}.sparse_csr.col_indices"),
                dims);
        }

        dense ??= [];
        return dtype switch
        {
            ProtoDType.Float32 => TensorData.FromFloat32(Float32s(dense, $"{where}.dense"), dims),
            ProtoDType.Int64 => TensorData.FromInt64(Int64s(dense, $"{where}.dense"), dims),
            ProtoDType.Int32 => TensorData.FromInt64(Int32s(dense, $"{where}.dense"), dims),
            _ => throw UnsupportedDtype(dtype, where),
        };
    }

    private static (byte[] Values, byte[] Crow, byte[] Col) ReadSparse(ReadOnlySpan<byte> bytes, string where)
    {
        var input = new CodedInputStream(bytes.ToArray());
        byte[] values = [], crow = [], col = [];
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = WireFormat.GetTagFieldNumber(tag);
            if (field is >= 1 and <= 3)
            {
                Expect(tag, WireFormat.WireType.LengthDelimited, where);
                var read = input.ReadBytes().ToByteArray();
                _ = field == 1 ? values = read : field == 2 ? crow = read : col = read;
            }
            else
            {
                input.SkipLastField();
            }
        }

        return (values, crow, col);
    }

    private static (string Key, double Value) ReadDoubleEntry(ReadOnlySpan<byte> bytes, string where)
    {
        var input = new CodedInputStream(bytes.ToArray());
        var key = "";
        var value = 0.0;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    Expect(tag, WireFormat.WireType.LengthDelimited, $"{where} key");
                    key = input.ReadString();
                    break;
                case 2:
                    Expect(tag, WireFormat.WireType.Fixed64, $"{where}.{key}");
                    value = input.ReadDouble();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return (key, value);
    }

    /// <summary>A repeated int64, packed (length-delimited) or not (one varint per tag).</summary>
    private static void ReadInt64s(CodedInputStream input, uint tag, List<long> into, string where)
    {
        switch (WireFormat.GetTagWireType(tag))
        {
            case WireFormat.WireType.Varint:
                into.Add(input.ReadInt64());
                break;
            case WireFormat.WireType.LengthDelimited:
                var packed = new CodedInputStream(input.ReadBytes().ToByteArray());
                while (!packed.IsAtEnd)
                {
                    into.Add(packed.ReadInt64());
                }

                break;
            default:
                throw new FormatException($"{where} has wire type {WireFormat.GetTagWireType(tag)}; expected a (packed) varint.");
        }
    }

    private static void Expect(uint tag, WireFormat.WireType expected, string field)
    {
        var actual = WireFormat.GetTagWireType(tag);
        if (actual != expected)
        {
            throw new FormatException($"{field} has wire type {actual}; the tinker_public schema says {expected}.");
        }
    }

    private static int[] Int32s(ReadOnlySpan<byte> bytes, string where)
    {
        CheckSize(bytes.Length, sizeof(int), where);
        var values = new int[bytes.Length / sizeof(int)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * sizeof(int))..]);
        }

        return values;
    }

    private static long[] Int64s(ReadOnlySpan<byte> bytes, string where)
    {
        CheckSize(bytes.Length, sizeof(long), where);
        var values = new long[bytes.Length / sizeof(long)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * sizeof(long))..]);
        }

        return values;
    }

    private static float[] Float32s(ReadOnlySpan<byte> bytes, string where)
    {
        CheckSize(bytes.Length, sizeof(float), where);
        var values = new float[bytes.Length / sizeof(float)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * sizeof(float))..]);
        }

        return values;
    }

    private static void CheckSize(int length, int size, string where)
    {
        if (length % size != 0)
        {
            throw new FormatException($"{where} has {length} bytes, not a multiple of {size} (little-endian values of its dtype).");
        }
    }

    private static FormatException UnsupportedDtype(int dtype, string where) =>
        new($"{where} has dtype {ProtoDType.Name(dtype)}; loss_fn_inputs take DTYPE_FLOAT32 or DTYPE_INT64 (DTYPE_INT32 for dense ints).");
}
