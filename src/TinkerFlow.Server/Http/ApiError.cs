using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Http;

/// <summary>
/// A request the server answers with an error status and a <c>{"error": message, "category": ...}</c> body. Thrown
/// anywhere in a handler; the error middleware writes it.
/// </summary>
internal sealed class ApiError(int status, string message, RequestErrorCategory category = RequestErrorCategory.User) : Exception(message)
{
    public int Status => status;

    public RequestErrorCategory Category => category;

    public static ApiError BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);

    public static ApiError NotFound(string message) => new(StatusCodes.Status404NotFound, message);

    /// <summary>The longest message an error body carries; longer ones keep their start and end.</summary>
    public const int MaxMessageChars = 2_000;

    /// <summary>The error body every failing answer carries, at most a few KB whatever the request held.</summary>
    public static byte[] Body(string message, RequestErrorCategory category)
    {
        message = Shorten(message);
        // Written by hand so that quotes and non-ASCII text in messages stay readable (no \u0027 escapes).
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("error", message);
            writer.WriteString("category", category switch
            {
                RequestErrorCategory.User => "user",
                RequestErrorCategory.Server => "server",
                _ => "unknown",
            });
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Bounds a message that may echo user input: past <see cref="MaxMessageChars"/> it keeps the first 1,200 and the
    /// last 600 characters (where the advice is) and says how much was left out.
    /// </summary>
    public static string Shorten(string message) =>
        message.Length <= MaxMessageChars
            ? message
            : $"{message[..1_200]} … [{message.Length - 1_800} characters omitted] … {message[^600..]}";

    /// <summary>Maps an engine failure onto its HTTP answer (user errors 4xx, server errors 500).</summary>
    public static ApiError From(TinkerRequestException ex) =>
        new(ex.Status ?? (ex.Category == RequestErrorCategory.User ? StatusCodes.Status400BadRequest : StatusCodes.Status500InternalServerError), ex.Message, ex.Category == RequestErrorCategory.Unknown ? RequestErrorCategory.Server : ex.Category);
}
