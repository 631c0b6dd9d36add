using System.Text.Json;
using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// Reads/writes <see cref="TensorData"/>. Strict like the SDK (unknown keys are an error). The <c>data</c> array may
/// come before <c>dtype</c>, so the reader remembers where it starts and parses it once the dtype is known.
/// </summary>
internal sealed class TensorDataJsonConverter : JsonConverter<TensorData>
{
    public override TensorData Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"tensor_data must be a JSON object, got {reader.TokenType}.");
        }

        var hasData = false;
        var dataStart = default(Utf8JsonReader);
        TensorDType? dtype = null;
        long[]? shape = null, crow = null, col = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "data":
                    dataStart = reader;
                    hasData = true;
                    reader.Skip();
                    break;
                case "dtype":
                    dtype = reader.GetString() switch
                    {
                        "int64" => TensorDType.Int64,
                        "float32" => TensorDType.Float32,
                        var other => throw new JsonException($"tensor_data.dtype must be \"int64\" or \"float32\", got \"{other}\"."),
                    };
                    break;
                case "shape":
                    shape = ReadLongs(ref reader, name);
                    break;
                case "sparse_crow_indices":
                    crow = ReadLongs(ref reader, name);
                    break;
                case "sparse_col_indices":
                    col = ReadLongs(ref reader, name);
                    break;
                default:
                    throw new JsonException($"tensor_data has an unknown field \"{name}\".");
            }
        }

        if (!hasData)
        {
            throw new JsonException("tensor_data.data is missing.");
        }

        if (dtype is null)
        {
            throw new JsonException("tensor_data.dtype is missing.");
        }

        var data = dataStart;
        try
        {
            return dtype == TensorDType.Int64
                ? TensorData.Create(ReadLongs(ref data, "data") ?? throw Null(), null, shape, crow, col)
                : TensorData.Create(null, ReadFloats(ref data) ?? throw Null(), shape, crow, col);
        }
        catch (ArgumentException ex)
        {
            throw new JsonException(ex.Message, ex);
        }

        static JsonException Null() => new("tensor_data.data must not be null.");
    }

    public override void Write(Utf8JsonWriter writer, TensorData value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("data");
        if (value.Dtype == TensorDType.Int64)
        {
            foreach (var v in value.AsInt64Span())
            {
                writer.WriteNumberValue(v);
            }
        }
        else
        {
            foreach (var v in value.AsFloat32Span())
            {
                // Python widens float32 to double before printing: -0.6f -> -0.6000000238418579.
                writer.WriteNumberValue((double)v);
            }
        }

        writer.WriteEndArray();
        writer.WriteString("dtype", value.Dtype == TensorDType.Int64 ? "int64" : "float32");
        WriteLongs(writer, "shape", value.Shape);
        WriteLongs(writer, "sparse_crow_indices", value.SparseCrowIndices);
        WriteLongs(writer, "sparse_col_indices", value.SparseColIndices);
        writer.WriteEndObject();
    }

    private static void WriteLongs(Utf8JsonWriter writer, string name, IReadOnlyList<long>? values)
    {
        if (values is null)
        {
            return;
        }

        writer.WriteStartArray(name);
        foreach (var v in values)
        {
            writer.WriteNumberValue(v);
        }

        writer.WriteEndArray();
    }

    private static long[]? ReadLongs(ref Utf8JsonReader reader, string field)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"tensor_data.{field} must be an array of integers, got {reader.TokenType}.");
        }

        var list = new List<long>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
            {
                throw new JsonException($"tensor_data.{field} must contain only numbers, got {reader.TokenType}.");
            }

            if (reader.TryGetInt64(out var l))
            {
                list.Add(l);
                continue;
            }

            var d = reader.GetDouble();
            if (d != Math.Floor(d) || double.IsInfinity(d))
            {
                throw new JsonException($"tensor_data.{field} must contain whole numbers, got {d}.");
            }

            list.Add((long)d);
        }

        return [.. list];
    }

    private static float[]? ReadFloats(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"tensor_data.data must be an array of numbers, got {reader.TokenType}.");
        }

        var list = new List<float>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
            {
                throw new JsonException($"tensor_data.data must contain only numbers, got {reader.TokenType}.");
            }

            list.Add((float)reader.GetDouble());
        }

        return [.. list];
    }
}
