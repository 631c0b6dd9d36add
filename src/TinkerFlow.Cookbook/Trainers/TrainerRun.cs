using TinkerFlow.Cookbook.Checkpoints;

namespace TinkerFlow.Cookbook.Trainers;

/// <summary>Where a trainer starts: a fresh client at step 0, or the last checkpoint of its log directory.</summary>
/// <param name="Client">The training client (restored with its optimizer state when resumed).</param>
/// <param name="State">The loop state to continue from: data cursor, step, tokens (the trainers keep no random state: their randomness is a pure function of (seed, epoch or step); see their remarks).</param>
/// <param name="ResumedFrom">The checkpoint resumed from, or null for a fresh run.</param>
public sealed record TrainerRun(TrainingClient Client, LoopState State, CheckpointRecord? ResumedFrom)
{
    /// <summary>
    /// Resumes from the last checkpoint in <paramref name="logPath"/> (weights and optimizer through
    /// <see cref="ServiceClient.CreateTrainingClientFromStateWithOptimizerAsync"/>, data cursor and step from its loop
    /// state), or starts fresh with <paramref name="createFresh"/>. The trainers hold no random generator to restore:
    /// data order, problems and sampling seeds are pure functions of (seed, epoch or step).
    /// </summary>
    /// <param name="service">The service.</param>
    /// <param name="logPath">The run's log directory (holding <c>checkpoints.jsonl</c>).</param>
    /// <param name="createFresh">Creates the client of a fresh run.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <returns>The run.</returns>
    public static async Task<TrainerRun> StartOrResumeAsync(ServiceClient service, string logPath, Func<Task<TrainingClient>> createFresh, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(createFresh);
        Directory.CreateDirectory(logPath);
        if (CheckpointLog.GetLastCheckpoint(logPath) is { } last)
        {
            var client = await service.CreateTrainingClientFromStateWithOptimizerAsync(last.StatePath!, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new TrainerRun(client, last.LoopState, last);
        }

        return new TrainerRun(await createFresh().ConfigureAwait(false), LoopState.Start, null);
    }

    /// <summary>A line for the log: what was created or resumed.</summary>
    /// <returns>The text.</returns>
    public override string ToString() =>
        ResumedFrom is null ? $"Training run {Client.ModelId}" : $"Resumed {Client.ModelId} from '{ResumedFrom.Name}' at step {State.Step}";
}
