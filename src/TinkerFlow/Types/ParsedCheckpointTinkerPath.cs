using System.Diagnostics.CodeAnalysis;

namespace TinkerFlow.Types;

/// <summary>
/// A parsed checkpoint path: <c>tinker://&lt;training_run_id&gt;/weights/&lt;name&gt;</c> (training) or
/// <c>tinker://&lt;training_run_id&gt;/sampler_weights/&lt;name&gt;</c> (sampler). Exactly three segments follow the
/// scheme; the run id and name must be non-empty and free of '/', '..' and control characters.
/// </summary>
public sealed record ParsedCheckpointTinkerPath
{
    /// <summary>The URI scheme prefix, <c>tinker://</c>.</summary>
    public const string Scheme = "tinker://";

    /// <summary>
    /// The other scheme prefix accepted wherever <c>tinker://</c> is, <c>logits://</c> (returned by some Tinker-compatible
    /// services); a path parsed from it keeps it in <see cref="TinkerPath"/>.
    /// </summary>
    public const string LogitsScheme = "logits://";

    private const string ValidForms =
        "expected tinker://<training_run_id>/weights/<name> or tinker://<training_run_id>/sampler_weights/<name>";

    private ParsedCheckpointTinkerPath(string trainingRunId, CheckpointType checkpointType, string name, string scheme = Scheme)
    {
        PathScheme = scheme;
        TrainingRunId = trainingRunId;
        CheckpointType = checkpointType;
        Name = name;
    }

    /// <summary>The full path, e.g. <c>tinker://run-1/weights/step-1</c>.</summary>
    public string TinkerPath => PathScheme + Format(TrainingRunId, CheckpointType, Name)[Scheme.Length..];

    private string PathScheme { get; }

    /// <summary>The training run (= model id).</summary>
    public string TrainingRunId { get; }

    /// <summary>Training (<c>weights</c>) or sampler (<c>sampler_weights</c>).</summary>
    public CheckpointType CheckpointType { get; }

    /// <summary>The checkpoint name (last segment).</summary>
    public string Name { get; }

    /// <summary>The id used in REST URLs: <c>weights/&lt;name&gt;</c> or <c>sampler_weights/&lt;name&gt;</c>.</summary>
    public string CheckpointId => $"{KindSegment(CheckpointType)}/{Name}";

    /// <summary>The path segment of a checkpoint type: <c>weights</c> or <c>sampler_weights</c>.</summary>
    /// <param name="checkpointType">The checkpoint type.</param>
    public static string KindSegment(CheckpointType checkpointType) => checkpointType switch
    {
        CheckpointType.Training => "weights",
        CheckpointType.Sampler => "sampler_weights",
        _ => throw new ArgumentOutOfRangeException(nameof(checkpointType), checkpointType, "Unknown checkpoint type."),
    };

    /// <summary>Builds a parsed path from its parts, validating them.</summary>
    /// <param name="trainingRunId">The training run id.</param>
    /// <param name="checkpointType">Training or sampler.</param>
    /// <param name="name">The checkpoint name.</param>
    /// <exception cref="ArgumentException">When the run id or name is not valid.</exception>
    public static ParsedCheckpointTinkerPath Create(string trainingRunId, CheckpointType checkpointType, string name)
    {
        _ = KindSegment(checkpointType);
        var runProblem = RunIdProblem(trainingRunId);
        if (runProblem is not null)
        {
            throw new ArgumentException($"Invalid training run id '{trainingRunId}': {runProblem}.");
        }

        WireValidation.CheckpointName(name, "checkpoint name");
        return new ParsedCheckpointTinkerPath(trainingRunId, checkpointType, name);
    }

    /// <summary>Formats <c>tinker://&lt;run&gt;/&lt;kind&gt;/&lt;name&gt;</c>, validating the parts.</summary>
    /// <param name="trainingRunId">The training run id.</param>
    /// <param name="checkpointType">Training or sampler.</param>
    /// <param name="name">The checkpoint name.</param>
    /// <exception cref="ArgumentException">When the run id or name is not valid.</exception>
    public static string Format(string trainingRunId, CheckpointType checkpointType, string name)
    {
        if (RunIdProblem(trainingRunId) is { } runProblem)
        {
            throw new ArgumentException($"Invalid training run id '{trainingRunId}': {runProblem}.");
        }

        WireValidation.CheckpointName(name, "checkpoint name");
        return $"{Scheme}{trainingRunId}/{KindSegment(checkpointType)}/{name}";
    }

    /// <summary>Parses a tinker path.</summary>
    /// <param name="tinkerPath">The path, e.g. <c>tinker://run-1/weights/step-1</c>.</param>
    /// <exception cref="ArgumentException">The path is not a valid checkpoint path; the message quotes it and shows
    /// the two valid forms.</exception>
    public static ParsedCheckpointTinkerPath FromTinkerPath(string tinkerPath)
    {
        ArgumentNullException.ThrowIfNull(tinkerPath);
        if (TryParse(tinkerPath, out var parsed, out var problem))
        {
            return parsed;
        }

        throw new ArgumentException($"Invalid tinker path '{tinkerPath}': {problem}; {ValidForms}.", nameof(tinkerPath));
    }

    /// <summary>Parses a tinker path without throwing.</summary>
    /// <param name="tinkerPath">The path.</param>
    /// <param name="result">The parsed path, or null.</param>
    /// <returns>True when the path is valid.</returns>
    public static bool TryParse(string? tinkerPath, [NotNullWhen(true)] out ParsedCheckpointTinkerPath? result) =>
        TryParse(tinkerPath, out result, out _);

    /// <summary>
    /// Parses a checkpoint id of a run in any form the service returns: <c>weights/&lt;name&gt;</c> or
    /// <c>sampler_weights/&lt;name&gt;</c> (<c>checkpoint_id</c> of <see cref="Checkpoint"/>), the same with the slash
    /// URL-escaped (<c>weights%2F&lt;name&gt;</c>), or the checkpoint's full <c>tinker://</c> (or <c>logits://</c>) path,
    /// which must name the same run.
    /// </summary>
    /// <param name="trainingRunId">The training run id.</param>
    /// <param name="checkpointId">The checkpoint id.</param>
    /// <exception cref="ArgumentException">When the id is not valid, or is a path of another run.</exception>
    public static ParsedCheckpointTinkerPath FromCheckpointId(string trainingRunId, string checkpointId)
    {
        ArgumentNullException.ThrowIfNull(checkpointId);
        if (IsCheckpointPath(checkpointId))
        {
            var path = FromTinkerPath(checkpointId);
            if (path.TrainingRunId != trainingRunId)
            {
                throw new ArgumentException(
                    $"Checkpoint '{checkpointId}' belongs to training run '{path.TrainingRunId}', not '{trainingRunId}'.", nameof(checkpointId));
            }

            return path;
        }

        string id = checkpointId.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        if (!TryParse($"{Scheme}{trainingRunId}/{id}", out var parsed, out var problem))
        {
            throw new ArgumentException(
                $"Invalid checkpoint id '{checkpointId}': {problem}; expected 'weights/<name>', 'sampler_weights/<name>' or the checkpoint's tinker:// path.",
                nameof(checkpointId));
        }

        return parsed;
    }

    /// <summary>Whether a string starts with a checkpoint path scheme, <c>tinker://</c> or <c>logits://</c>.</summary>
    /// <param name="path">The string.</param>
    /// <returns>True for <c>tinker://…</c> and <c>logits://…</c>.</returns>
    public static bool IsCheckpointPath(string? path) =>
        path is not null && (path.StartsWith(Scheme, StringComparison.Ordinal) || path.StartsWith(LogitsScheme, StringComparison.Ordinal));

    /// <summary>The tinker path.</summary>
    public override string ToString() => TinkerPath;

    private static bool TryParse(string? tinkerPath, [NotNullWhen(true)] out ParsedCheckpointTinkerPath? result, out string problem)
    {
        result = null;
        if (!IsCheckpointPath(tinkerPath))
        {
            problem = $"it does not start with '{Scheme}' (or '{LogitsScheme}')";
            return false;
        }

        string scheme = tinkerPath!.StartsWith(Scheme, StringComparison.Ordinal) ? Scheme : LogitsScheme;
        var segments = tinkerPath[scheme.Length..].Split('/');
        if (segments.Length != 3)
        {
            problem = $"it has {segments.Length} segment(s) after '{scheme}', not 3";
            return false;
        }

        CheckpointType type;
        switch (segments[1])
        {
            case "weights":
                type = CheckpointType.Training;
                break;
            case "sampler_weights":
                type = CheckpointType.Sampler;
                break;
            default:
                problem = $"unknown checkpoint kind '{segments[1]}'";
                return false;
        }

        if (RunIdProblem(segments[0]) is { } runProblem)
        {
            problem = $"bad training run id: {runProblem}";
            return false;
        }

        if (WireValidation.CheckpointNameProblem(segments[2]) is { } nameProblem)
        {
            problem = $"bad checkpoint name: {nameProblem}";
            return false;
        }

        result = new ParsedCheckpointTinkerPath(segments[0], type, segments[2], scheme);
        problem = "";
        return true;
    }

    private static string? RunIdProblem(string? runId) =>
        WireValidation.CheckpointNameProblem(runId)?.Replace("the name", "the id", StringComparison.Ordinal);
}
