using System.Text.Json;

namespace TinkerFlow.Dataflow;

/// <summary>Reads back what <see cref="JsonlMetricsWriter"/> wrote, and trims a log for a resumed run.</summary>
public static class JsonlMetricsReader
{
    /// <summary>The records of a <c>metrics.jsonl</c> file, in file order (numeric fields only; <c>null</c> values are skipped); empty when the file does not exist.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The records (timestamped now: the file holds no times).</returns>
    /// <exception cref="FormatException">A line is not a JSON object with a numeric <c>step</c>; the message names the line.</exception>
    public static IReadOnlyList<MetricRecord> Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            return [];
        }

        var records = new List<MetricRecord>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (!string.IsNullOrWhiteSpace(line))
            {
                records.Add(Parse(line, $"{path}:{number}"));
            }
        }

        return records;
    }

    /// <summary>
    /// Keeps only the rows of steps before <paramref name="step"/> (a run resumed at that step writes the later ones
    /// again) and returns them, so sinks such as plots can replay the whole run.
    /// </summary>
    /// <param name="path">The file; nothing happens when it does not exist.</param>
    /// <param name="step">The first step to drop.</param>
    /// <returns>The kept records.</returns>
    public static IReadOnlyList<MetricRecord> KeepStepsBefore(string path, long step)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            return [];
        }

        var kept = File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l))
            .Select(l => (Line: l, Record: Parse(l, path)))
            .Where(r => r.Record.Step < step)
            .ToList();
        File.WriteAllLines(path, kept.Select(r => r.Line));
        return [.. kept.Select(r => r.Record)];
    }

    private static MetricRecord Parse(string line, string where)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            long? step = null;
            foreach (var property in json.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.Number)
                {
                    continue;
                }

                if (property.Name == "step")
                {
                    step = property.Value.GetInt64();
                }
                else
                {
                    metrics[property.Name] = property.Value.GetDouble();
                }
            }

            return new MetricRecord(step ?? throw new FormatException($"{where}: the row has no numeric 'step'."), metrics, DateTimeOffset.UtcNow);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{where} is not a metrics row ({ex.Message}).", ex);
        }
    }
}
