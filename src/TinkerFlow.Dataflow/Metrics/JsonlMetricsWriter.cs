using System.Text;
using System.Text.Json;

namespace TinkerFlow.Dataflow;

/// <summary>
/// Writes each <see cref="MetricRecord"/> as one JSON object per line (<c>{"step":3,"optim/lr":0.0001,…}</c>), the
/// cookbook's <c>log_path/metrics.jsonl</c>, flushing after every line so a crash loses nothing.
/// </summary>
/// <remarks>
/// Keys are written in ordinal order after <c>step</c>; non-finite values are written as <c>null</c>. Subscribe it to a
/// pipeline's <c>Metrics</c>; it closes the file when the stream ends or when disposed.
/// </remarks>
/// <example><code>using var sub = stage.Metrics.Subscribe(new JsonlMetricsWriter(Path.Combine(logPath, "metrics.jsonl")));</code></example>
public sealed class JsonlMetricsWriter : IObserver<MetricRecord>, IDisposable
{
    private readonly Lock _gate = new();
    private readonly TextWriter _writer;
    private readonly bool _ownsWriter;
    private bool _closed;

    /// <summary>Appends to (or creates) a file, creating its directory.</summary>
    /// <param name="path">The file, e.g. <c>log_path/metrics.jsonl</c>.</param>
    /// <param name="append">Append to an existing file (resume) rather than overwrite it.</param>
    public JsonlMetricsWriter(string path, bool append = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        _writer = new StreamWriter(path, append, new UTF8Encoding(false));
        _ownsWriter = true;
    }

    /// <summary>Writes to an existing writer.</summary>
    /// <param name="writer">The destination.</param>
    /// <param name="leaveOpen">Leave <paramref name="writer"/> open when this sink closes.</param>
    public JsonlMetricsWriter(TextWriter writer, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
        _ownsWriter = !leaveOpen;
    }

    /// <summary>Formats one record as a single JSON line (without the newline).</summary>
    /// <param name="record">The record.</param>
    /// <returns>The JSON object text.</returns>
    public static string Format(MetricRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("step", record.Step);
            foreach (var (key, value) in record.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (key == "step")
                {
                    continue;
                }

                if (double.IsFinite(value))
                {
                    json.WriteNumber(key, value);
                }
                else
                {
                    json.WriteNull(key);
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes one line and flushes.</summary>
    /// <param name="value">The record.</param>
    public void OnNext(MetricRecord value)
    {
        var line = Format(value);
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _writer.WriteLine(line);
            _writer.Flush();
        }
    }

    /// <summary>Closes the file (the lines written so far stay).</summary>
    /// <param name="error">The pipeline's fault.</param>
    public void OnError(Exception error) => Dispose();

    /// <summary>Closes the file.</summary>
    public void OnCompleted() => Dispose();

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _writer.Flush();
            if (_ownsWriter)
            {
                _writer.Dispose();
            }
        }
    }
}
