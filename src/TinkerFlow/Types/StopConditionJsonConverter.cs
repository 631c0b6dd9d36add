using System.Text.Json;
using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>Reads/writes <see cref="StopCondition"/> as a string, an array of strings or an array of ints.</summary>
internal sealed class StopConditionJsonConverter : JsonConverter<StopCondition>
{
    public override StopCondition Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return StopCondition.FromString(reader.GetString()!);
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"sampling_params.stop must be a string, an array of strings or an array of ints, got {reader.TokenType}.");
        }

        List<string>? strings = null;
        List<int>? ids = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.String when ids is null:
                    (strings ??= []).Add(reader.GetString()!);
                    break;
                case JsonTokenType.Number when strings is null:
                    (ids ??= []).Add(reader.GetInt32());
                    break;
                default:
                    throw new JsonException("sampling_params.stop must be a string, an array of strings or an array of ints (not mixed).");
            }
        }

        return ids is not null ? StopCondition.FromTokenIds(ids) : StopCondition.FromStrings(strings ?? []);
    }

    public override void Write(Utf8JsonWriter writer, StopCondition value, JsonSerializerOptions options)
    {
        if (value.IsSingleString)
        {
            writer.WriteStringValue(value.Strings![0]);
            return;
        }

        writer.WriteStartArray();
        if (value.Strings is not null)
        {
            foreach (var s in value.Strings)
            {
                writer.WriteStringValue(s);
            }
        }
        else
        {
            foreach (var id in value.TokenIds!)
            {
                writer.WriteNumberValue(id);
            }
        }

        writer.WriteEndArray();
    }
}
