using System.Text.Json;
using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>Reads/writes <see cref="TopkPromptLogprob"/> as <c>[token_id, logprob]</c>.</summary>
internal sealed class TopkPromptLogprobJsonConverter : JsonConverter<TopkPromptLogprob>
{
    public override TopkPromptLogprob Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"topk_prompt_logprobs entries must be [token_id, logprob] arrays, got {reader.TokenType}.");
        }

        if (!reader.Read() || reader.TokenType != JsonTokenType.Number)
        {
            throw new JsonException("topk_prompt_logprobs entry: token_id must be an integer.");
        }

        var id = reader.GetInt32();
        if (!reader.Read() || reader.TokenType != JsonTokenType.Number)
        {
            throw new JsonException("topk_prompt_logprobs entry: logprob must be a number.");
        }

        var lp = reader.GetDouble();
        if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray)
        {
            throw new JsonException("topk_prompt_logprobs entries must have exactly two elements.");
        }

        return new TopkPromptLogprob(id, lp);
    }

    public override void Write(Utf8JsonWriter writer, TopkPromptLogprob value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(value.TokenId);
        writer.WriteNumberValue(value.Logprob);
        writer.WriteEndArray();
    }
}
