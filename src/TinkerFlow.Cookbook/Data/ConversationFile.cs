using System.Text;
using System.Text.Json;
using TinkerFlow.Cookbook.Renderers;

namespace TinkerFlow.Cookbook.Data;

/// <summary>
/// Reads chat JSONL files, one <c>{"messages":[{"role":…,"content":…}, …]}</c> object per line, and splits them into
/// train and test sets the way the cookbook's <c>FromConversationFileBuilder</c> does.
/// </summary>
/// <remarks>
/// <c>content</c> is a string or a list of parts whose <c>text</c> fields are concatenated (non-text parts are not
/// supported). An optional boolean <c>trainable</c> per message feeds <see cref="TrainOnWhat.Customized"/>. Blank
/// lines are skipped; any other malformed line fails with its line number.
/// </remarks>
public static class ConversationFile
{
    /// <summary>Loads a JSONL file.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>One message list per line, in file order.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FormatException">A line is not a valid conversation; the message names the line.</exception>
    public static IReadOnlyList<IReadOnlyList<Message>> Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Conversation file '{path}' not found; expected JSONL with one {{\"messages\": [...]}} object per line.", path);
        }

        using var reader = new StreamReader(path, Encoding.UTF8);
        return Parse(reader, path);
    }

    /// <summary>Parses JSONL conversations from a reader.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="sourceName">Names the source in error messages.</param>
    /// <returns>One message list per non-blank line.</returns>
    /// <exception cref="FormatException">A line is not a valid conversation.</exception>
    public static IReadOnlyList<IReadOnlyList<Message>> Parse(TextReader reader, string sourceName = "<jsonl>")
    {
        ArgumentNullException.ThrowIfNull(reader);
        var rows = new List<IReadOnlyList<Message>>();
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                rows.Add(ParseLine(line));
            }
            catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
            {
                throw new FormatException($"{sourceName}:{lineNumber}: {ex.Message} Expected {{\"messages\": [{{\"role\": \"user\", \"content\": \"...\"}}, ...]}}.", ex);
            }
        }

        return rows;
    }

    /// <summary>
    /// Splits rows into train and test: when <paramref name="testSize"/> &gt; 0, rows are shuffled with
    /// <paramref name="shuffleSeed"/>, the first <paramref name="testSize"/> become the test set and the rest the train
    /// set; with 0 the rows stay in file order and the test set is empty.
    /// </summary>
    /// <typeparam name="T">The row type.</typeparam>
    /// <param name="rows">The rows.</param>
    /// <param name="testSize">Number of test rows (<c>test_size</c>), less than the row count.</param>
    /// <param name="shuffleSeed">Seed of the split shuffle (<c>shuffle_seed</c>).</param>
    /// <returns>The train and test rows.</returns>
    public static (IReadOnlyList<T> Train, IReadOnlyList<T> Test) Split<T>(IReadOnlyList<T> rows, int testSize, long shuffleSeed = 0)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(testSize);
        if (testSize == 0)
        {
            return (rows, []);
        }

        if (testSize >= rows.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(testSize), testSize, $"test_size must be smaller than the {rows.Count} rows, so the train set is not empty.");
        }

        var order = SeededRandom.Permutation(rows.Count, shuffleSeed);
        return ([.. order.Skip(testSize).Select(i => rows[i])], [.. order.Take(testSize).Select(i => rows[i])]);
    }

    private static List<Message> ParseLine(string line)
    {
        using var doc = JsonDocument.Parse(line);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("The line has no \"messages\" array.");
        }

        var result = new List<Message>();
        var index = 0;
        foreach (var m in messages.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object
                || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !m.TryGetProperty("content", out var content))
            {
                throw new FormatException($"messages[{index}] needs a string \"role\" and a \"content\".");
            }

            var message = new Message(role.GetString()!, ReadContent(content, index));
            if (m.TryGetProperty("trainable", out var trainable) && trainable.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                message = message with { Trainable = trainable.GetBoolean() };
            }

            result.Add(message);
            index++;
        }

        return result;
    }

    private static string ReadContent(JsonElement content, int index)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Array:
                var text = new StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                    {
                        text.Append(t.GetString());
                    }
                    else
                    {
                        throw new FormatException($"messages[{index}].content has a part without a string \"text\"; only text parts are supported.");
                    }
                }

                return text.ToString();
            default:
                throw new FormatException($"messages[{index}].content must be a string or a list of text parts.");
        }
    }
}
