using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace TinkerFlow.Types;

/// <summary>
/// Serialises Tinker wire types with <see cref="TinkerJsonContext"/> (no reflection). Invalid values inside the JSON
/// (e.g. a negative temperature) surface as <see cref="JsonException"/> whose inner exception is the type's
/// <see cref="ArgumentException"/>, so callers need to catch only one exception type.
/// </summary>
public static class TinkerJson
{
    /// <summary>The generated metadata for <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">A type registered in <see cref="TinkerJsonContext"/>.</typeparam>
    /// <exception cref="InvalidOperationException">When <typeparamref name="T"/> is not registered.</exception>
    public static JsonTypeInfo<T> GetTypeInfo<T>() =>
        TinkerJsonContext.Default.GetTypeInfo(typeof(T)) as JsonTypeInfo<T>
        ?? throw new InvalidOperationException(
            $"{typeof(T).FullName} is not registered in TinkerJsonContext; add [JsonSerializable(typeof({typeof(T).Name}))] to src/TinkerFlow/Types/TinkerJsonContext.cs.");

    /// <summary>Serialises <paramref name="value"/> to a JSON string.</summary>
    /// <typeparam name="T">A registered type (the declared type: use the base type to get a discriminator).</typeparam>
    /// <param name="value">The value.</param>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, GetTypeInfo<T>());

    /// <summary>Serialises <paramref name="value"/> to UTF-8 JSON bytes.</summary>
    /// <typeparam name="T">A registered type.</typeparam>
    /// <param name="value">The value.</param>
    public static byte[] SerializeToUtf8Bytes<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, GetTypeInfo<T>());

    /// <summary>Serialises <paramref name="value"/> into <paramref name="utf8Json"/>.</summary>
    /// <typeparam name="T">A registered type.</typeparam>
    /// <param name="utf8Json">Destination stream.</param>
    /// <param name="value">The value.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public static Task SerializeAsync<T>(Stream utf8Json, T value, CancellationToken cancellationToken = default) =>
        JsonSerializer.SerializeAsync(utf8Json, value, GetTypeInfo<T>(), cancellationToken);

    /// <summary>Parses JSON text into <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">A registered type.</typeparam>
    /// <param name="json">The JSON text.</param>
    /// <exception cref="JsonException">Malformed JSON, a missing required field, <c>null</c>, or an invalid value.</exception>
    public static T Deserialize<T>(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return NotNull(JsonSerializer.Deserialize(json, GetTypeInfo<T>()));
        }
        catch (ArgumentException ex)
        {
            throw Invalid<T>(ex);
        }
    }

    /// <summary>Parses UTF-8 JSON into <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">A registered type.</typeparam>
    /// <param name="utf8Json">The UTF-8 JSON bytes.</param>
    /// <exception cref="JsonException">Malformed JSON, a missing required field, <c>null</c>, or an invalid value.</exception>
    public static T Deserialize<T>(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            return NotNull(JsonSerializer.Deserialize(utf8Json, GetTypeInfo<T>()));
        }
        catch (ArgumentException ex)
        {
            throw Invalid<T>(ex);
        }
    }

    /// <summary>Converts a parsed JSON element into <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">A registered type.</typeparam>
    /// <param name="element">The element.</param>
    /// <exception cref="JsonException">A missing required field, <c>null</c>, or an invalid value.</exception>
    public static T Deserialize<T>(JsonElement element)
    {
        try
        {
            return NotNull(element.Deserialize(GetTypeInfo<T>()));
        }
        catch (ArgumentException ex)
        {
            throw Invalid<T>(ex);
        }
    }

    /// <summary>Reads UTF-8 JSON from a stream into <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">A registered type.</typeparam>
    /// <param name="utf8Json">Source stream.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="JsonException">Malformed JSON, a missing required field, <c>null</c>, or an invalid value.</exception>
    public static async Task<T> DeserializeAsync<T>(Stream utf8Json, CancellationToken cancellationToken = default)
    {
        try
        {
            return NotNull(await JsonSerializer.DeserializeAsync(utf8Json, GetTypeInfo<T>(), cancellationToken).ConfigureAwait(false));
        }
        catch (ArgumentException ex)
        {
            throw Invalid<T>(ex);
        }
    }

    private static T NotNull<T>(T? value) =>
        value ?? throw new JsonException($"Expected a {typeof(T).Name} JSON value, got null.");

    private static JsonException Invalid<T>(ArgumentException ex) =>
        new($"Invalid {typeof(T).Name}: {ex.Message}", ex);
}
