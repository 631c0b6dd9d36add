using System.Text.Encodings.Web;
using System.Text.Json;
using TinkerFlow.Server.Http;

namespace TinkerFlow.Server.Dashboard;

/// <summary>The dashboard's JSON bodies, written by hand (records are already JSON text and are copied in as they are).</summary>
internal static class DashboardJson
{
    private static readonly JsonWriterOptions s_options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, s_options))
        {
            write(json);
        }

        return buffer.ToArray();
    }

    public static JsonBytesResult Result(Action<Utf8JsonWriter> write) => new(Write(write));

    /// <summary>Writes <c>"name":[record,…]</c> from already-validated JSON object lines.</summary>
    public static void WriteRecords(Utf8JsonWriter json, string name, IEnumerable<string> records)
    {
        json.WriteStartArray(name);
        foreach (var record in records)
        {
            json.WriteRawValue(record, skipInputValidation: true);
        }

        json.WriteEndArray();
    }

    /// <summary>Writes one run's summary object.</summary>
    public static void WriteRun(Utf8JsonWriter json, MetricsRun run)
    {
        json.WriteStartObject();
        json.WriteString("run_id", run.RunId);
        json.WriteNumber("records", run.Count);
        if (run.LastStep is { } step)
        {
            json.WriteNumber("last_step", step);
        }
        else
        {
            json.WriteNull("last_step");
        }

        if (run.UpdatedAt is { } updated)
        {
            json.WriteString("updated_at", updated);
        }
        else
        {
            json.WriteNull("updated_at");
        }

        json.WriteNumber("skipped_lines", run.SkippedLines);
        json.WriteEndObject();
    }
}
