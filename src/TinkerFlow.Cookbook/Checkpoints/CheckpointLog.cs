using System.Text;
using System.Text.Json;

namespace TinkerFlow.Cookbook.Checkpoints;

/// <summary>
/// Reads and appends <c>log_path/checkpoints.jsonl</c>, and finds the checkpoint to resume from (the cookbook's
/// <c>get_last_checkpoint</c>).
/// </summary>
public static class CheckpointLog
{
    /// <summary>The file name inside the log directory.</summary>
    public const string FileName = "checkpoints.jsonl";

    /// <summary>The records file of a log directory.</summary>
    /// <param name="logPath">The run's log directory.</param>
    /// <returns><c>logPath/checkpoints.jsonl</c>.</returns>
    public static string PathFor(string logPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logPath);
        return Path.Combine(logPath, FileName);
    }

    /// <summary>All records, in the order they were written; empty when the file does not exist.</summary>
    /// <param name="logPath">The run's log directory.</param>
    /// <returns>The records.</returns>
    /// <exception cref="FormatException">A line is not a record; the message names the line.</exception>
    public static IReadOnlyList<CheckpointRecord> ReadRecords(string logPath)
    {
        var path = PathFor(logPath);
        if (!File.Exists(path))
        {
            return [];
        }

        var records = new List<CheckpointRecord>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                records.Add(JsonSerializer.Deserialize(line, CheckpointJsonContext.Default.CheckpointRecord)
                    ?? throw new FormatException("the line is null."));
            }
            catch (JsonException ex)
            {
                throw new FormatException($"{path}:{lineNumber} is not a checkpoint record ({ex.Message}). Fix or remove the line, or start a fresh log_path.", ex);
            }
        }

        return records;
    }

    /// <summary>
    /// The last record that has a <c>state_path</c> (or, with <paramref name="requireSamplerPath"/>, a
    /// <c>sampler_path</c>), or null when there is none: start fresh in that case, otherwise create the training client
    /// with <c>ServiceClient.CreateTrainingClientFromStateWithOptimizerAsync(record.StatePath)</c> and continue from
    /// <see cref="CheckpointRecord.LoopState"/>.
    /// </summary>
    /// <param name="logPath">The run's log directory.</param>
    /// <param name="requireSamplerPath">Look for the last record with sampler weights instead (e.g. for evaluation).</param>
    /// <returns>The record, or null.</returns>
    public static CheckpointRecord? GetLastCheckpoint(string logPath, bool requireSamplerPath = false) =>
        ReadRecords(logPath).LastOrDefault(r => requireSamplerPath ? r.SamplerPath is not null : r.StatePath is not null);

    /// <summary>Appends one record as a JSON line, creating the directory and file if needed.</summary>
    /// <param name="logPath">The run's log directory.</param>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the line is written.</returns>
    public static async Task AppendAsync(string logPath, CheckpointRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var path = PathFor(logPath);
        Directory.CreateDirectory(logPath);
        var line = JsonSerializer.Serialize(record, CheckpointJsonContext.Default.CheckpointRecord) + "\n";
        await File.AppendAllTextAsync(path, line, Encoding.UTF8, cancellationToken).ConfigureAwait(false);
    }
}
