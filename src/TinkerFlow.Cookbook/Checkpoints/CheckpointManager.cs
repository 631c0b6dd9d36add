using TinkerFlow.Types;

namespace TinkerFlow.Cookbook.Checkpoints;

/// <summary>
/// Saves periodic, rolling and final checkpoints of a training client and records each in
/// <c>log_path/checkpoints.jsonl</c> (the cookbook's <c>checkpoint_utils.CheckpointManager</c>).
/// </summary>
/// <remarks>
/// Call <see cref="MaybeSaveAsync"/> at the top of every step with the loop state of the batch about to be trained
/// (so a resumed run restarts at that batch), and <see cref="SaveFinalAsync"/> after the last step. A step that is due
/// for both kinds gets a periodic checkpoint. State and sampler saves are submitted back to back before either is
/// awaited. With a <see cref="RestClient"/>, each new rolling checkpoint deletes the previous one (including one left
/// by an earlier run in the same log directory); without one, old rolling checkpoints expire by their TTL.
/// </remarks>
public class CheckpointManager
{
    private readonly TrainingClient _client;
    private readonly RestClient? _restClient;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private string? _previousRollingPath;

    /// <summary>Creates a manager.</summary>
    /// <param name="client">The training client to save.</param>
    /// <param name="logPath">The run's log directory; <c>checkpoints.jsonl</c> lives there.</param>
    /// <param name="options">Cadences and TTLs; null for the defaults.</param>
    /// <param name="restClient">Deletes superseded rolling checkpoints; null leaves them to their TTL.</param>
    public CheckpointManager(TrainingClient client, string logPath, CheckpointOptions? options = null, RestClient? restClient = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(logPath);
        options ??= new CheckpointOptions();
        options.Validate();
        _client = client;
        _restClient = restClient;
        LogPath = logPath;
        Options = options;
        _previousRollingPath = CheckpointLog.ReadRecords(logPath).LastOrDefault(r => r.Rolling == true)?.StatePath;
    }

    /// <summary>The run's log directory.</summary>
    public string LogPath { get; }

    /// <summary>The cadences and TTLs.</summary>
    public CheckpointOptions Options { get; }

    /// <summary>The kind of checkpoint due at a step, or null: periodic when step is a positive multiple of
    /// <c>SaveEvery</c>, else rolling when it is a positive multiple of <c>RollingSaveEvery</c>.</summary>
    /// <param name="step">Optimizer steps completed.</param>
    /// <returns>The kind, or null when nothing is due.</returns>
    public CheckpointKind? KindDueAt(int step)
    {
        if (step <= 0)
        {
            return null;
        }

        if (Options.SaveEvery > 0 && step % Options.SaveEvery == 0)
        {
            return CheckpointKind.Periodic;
        }

        return Options.RollingSaveEvery > 0 && step % Options.RollingSaveEvery == 0 ? CheckpointKind.Rolling : null;
    }

    /// <summary>Saves a periodic or rolling checkpoint when one is due at <see cref="LoopState.Step"/>.</summary>
    /// <param name="state">The loop state of the batch about to be trained.</param>
    /// <param name="cancellationToken">Cancels the saves.</param>
    /// <returns>The record written, or null when nothing was due.</returns>
    public async Task<CheckpointRecord?> MaybeSaveAsync(LoopState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        return KindDueAt(state.Step) switch
        {
            CheckpointKind.Periodic => await SaveAsync($"{state.Step:D6}", CheckpointKind.Periodic, state, cancellationToken).ConfigureAwait(false),
            CheckpointKind.Rolling => await SaveAsync($"rolling-{state.Step:D6}", CheckpointKind.Rolling, state, cancellationToken).ConfigureAwait(false),
            _ => null,
        };
    }

    /// <summary>Saves the final checkpoint (state and sampler, <c>final: true</c>, TTL <c>FinalTtlSeconds</c>).</summary>
    /// <param name="state">The loop state after the last step.</param>
    /// <param name="cancellationToken">Cancels the saves.</param>
    /// <returns>The record written.</returns>
    public Task<CheckpointRecord> SaveFinalAsync(LoopState state, CancellationToken cancellationToken = default) =>
        SaveAsync("final", CheckpointKind.Final, state, cancellationToken);

    /// <summary>Saves a checkpoint of the given kind under a name and appends its record.</summary>
    /// <param name="name">The checkpoint name.</param>
    /// <param name="kind">Periodic and final save state and sampler weights; rolling saves state only.</param>
    /// <param name="state">The loop state to record.</param>
    /// <param name="cancellationToken">Cancels the saves.</param>
    /// <returns>The record written.</returns>
    public virtual async Task<CheckpointRecord> SaveAsync(string name, CheckpointKind kind, LoopState state, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(state);
        var ttl = kind switch
        {
            CheckpointKind.Periodic => Options.PeriodicTtlSeconds,
            CheckpointKind.Rolling => Options.RollingTtlSeconds,
            _ => Options.FinalTtlSeconds,
        };

        var stateFuture = await _client.SaveStateAsync(WaitUntil.Started, name, ttl, cancellationToken: cancellationToken).ConfigureAwait(false);
        TinkerFuture<SaveWeightsForSamplerResponse>? samplerFuture = null;
        if (kind != CheckpointKind.Rolling)
        {
            samplerFuture = await _client.SaveWeightsForSamplerAsync(WaitUntil.Started, name, ttl, cancellationToken).ConfigureAwait(false);
        }

        var statePath = (await stateFuture.WaitForCompletionAsync(cancellationToken).ConfigureAwait(false)).Path;
        var samplerPath = samplerFuture is null ? null : (await samplerFuture.WaitForCompletionAsync(cancellationToken).ConfigureAwait(false)).Path;
        var record = CheckpointRecord.FromLoopState(name, state, kind, statePath, samplerPath);

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await CheckpointLog.AppendAsync(LogPath, record, cancellationToken).ConfigureAwait(false);
            if (kind == CheckpointKind.Rolling)
            {
                var previous = _previousRollingPath;
                _previousRollingPath = statePath;
                if (previous is not null && _restClient is not null && previous != statePath)
                {
                    await _restClient.DeleteCheckpointFromTinkerPathAsync(previous, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _writeLock.Release();
        }

        return record;
    }
}
