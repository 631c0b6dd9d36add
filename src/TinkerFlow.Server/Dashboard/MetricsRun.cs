using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// One run's <c>metrics.jsonl</c>, tailed: the complete lines read so far (each a JSON object, kept as its text), the
/// byte offset after them, and a generation that changes when the file was truncated or replaced (then it is re-read
/// from the start). A line still being written (no newline yet) waits for the next look.
/// </summary>
internal sealed class MetricsRun(string runId, string filePath)
{
    private static readonly Regex s_nonFinite = new(@"(?<=[:\[,]\s*)-?(?:NaN|Infinity)(?=\s*[,\]}])", RegexOptions.CultureInvariant);

    private readonly Lock _gate = new();
    private readonly List<string> _records = [];
    private long _offset;

    public string RunId => runId;

    public string FilePath => filePath;

    /// <summary>Changes when the file shrank and was re-read from its start.</summary>
    public int Generation { get; private set; }

    /// <summary>The <c>step</c> of the newest record (null before the first).</summary>
    public double? LastStep { get; private set; }

    /// <summary>When a record last arrived.</summary>
    public DateTimeOffset? UpdatedAt { get; private set; }

    /// <summary>Lines that were not JSON objects (skipped).</summary>
    public int SkippedLines { get; private set; }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _records.Count;
            }
        }
    }

    /// <summary>Reads the lines appended since the last call.</summary>
    /// <returns>Whether anything changed (new records or a reset).</returns>
    public bool ReadNew(DateTimeOffset now)
    {
        byte[] bytes;
        bool reset;
        try
        {
            using var stream = new FileStream(filePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            reset = stream.Length < _offset;
            var start = reset ? 0 : _offset;
            if (stream.Length == start)
            {
                return false;
            }

            stream.Position = start;
            bytes = new byte[stream.Length - start];
            stream.ReadExactly(bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        var end = Array.LastIndexOf(bytes, (byte)'\n');
        lock (_gate)
        {
            if (reset)
            {
                _records.Clear();
                _offset = 0;
                LastStep = null;
                Generation++;
            }

            if (end < 0)
            {
                return reset;
            }

            _offset += end + 1;
            var added = false;
            foreach (var raw in Encoding.UTF8.GetString(bytes, 0, end).Split('\n'))
            {
                var line = raw.Trim();
                if (line.Length == 0)
                {
                    continue;
                }

                if (TryParse(ref line, out var step))
                {
                    _records.Add(line);
                    LastStep = step ?? LastStep;
                    added = true;
                }
                else
                {
                    SkippedLines++;
                }
            }

            if (added)
            {
                UpdatedAt = now;
            }

            return added || reset;
        }
    }

    /// <summary>The records from index <paramref name="from"/> on, and the generation they belong to.</summary>
    public (int Generation, IReadOnlyList<string> Records) Read(int from)
    {
        lock (_gate)
        {
            return from >= _records.Count
                ? (Generation, [])
                : (Generation, _records.GetRange(from, _records.Count - from));
        }
    }

    /// <summary>Checks that a line is a JSON object (Python's bare NaN / Infinity become null) and reads its step.</summary>
    private static bool TryParse(ref string line, out double? step)
    {
        step = null;
        if (line.Contains("NaN", StringComparison.Ordinal) || line.Contains("Infinity", StringComparison.Ordinal))
        {
            line = s_nonFinite.Replace(line, "null");
        }

        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            if (document.RootElement.TryGetProperty("step", out var value) && value.ValueKind == JsonValueKind.Number)
            {
                step = value.GetDouble();
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
