using System.Text.Json;
using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>Reads/writes <see cref="RequestErrorCategory"/> as lower-case strings, mapping anything else to Unknown.</summary>
internal sealed class RequestErrorCategoryJsonConverter : JsonConverter<RequestErrorCategory>
{
    public override RequestErrorCategory Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return RequestErrorCategory.Unknown;
        }

        return reader.GetString() switch
        {
            "server" => RequestErrorCategory.Server,
            "user" => RequestErrorCategory.User,
            _ => RequestErrorCategory.Unknown,
        };
    }

    public override void Write(Utf8JsonWriter writer, RequestErrorCategory value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value switch
        {
            RequestErrorCategory.Server => "server",
            RequestErrorCategory.User => "user",
            _ => "unknown",
        });
}
