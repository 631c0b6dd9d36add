using TinkerFlow.Types;

namespace TinkerFlow.Local;

public sealed partial class LocalBackend
{
    /// <inheritdoc/>
    public override Task<WeightsInfoResponse> GetWeightsInfoAsync(WeightsInfoRequest request, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            var (_, _, run) = Store.ResolveTinkerPath(request.TinkerPath, Options.Owner);
            return new WeightsInfoResponse
            {
                BaseModel = run.BaseModel,
                IsLora = true,
                LoraRank = run.LoraConfig.Rank,
                TrainAttn = run.LoraConfig.TrainAttn,
                TrainMlp = run.LoraConfig.TrainMlp,
                TrainUnembed = run.LoraConfig.TrainUnembed,
            };
        });

    /// <inheritdoc/>
    public override Task<TrainingRun> GetTrainingRunAsync(string trainingRunId, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        Sync(() => Store.ToTrainingRun(Store.GetRun(trainingRunId, Options.Owner, allowPublished: accessScope == AccessScope.Accessible)));

    /// <inheritdoc/>
    public override Task<TrainingRunsResponse> ListTrainingRunsAsync(int limit, int offset, AccessScope accessScope, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            var runs = Store.ListRuns(Options.Owner, includePublished: accessScope == AccessScope.Accessible);
            return new TrainingRunsResponse
            {
                TrainingRuns = runs.Skip(offset).Take(limit).Select(Store.ToTrainingRun).ToList(),
                Cursor = new Cursor { Offset = offset, Limit = limit, TotalCount = runs.Count },
            };
        });

    /// <inheritdoc/>
    public override Task<CheckpointsListResponse> ListCheckpointsAsync(string trainingRunId, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            var run = Store.GetRun(trainingRunId, Options.Owner, allowPublished: true);
            var checkpoints = Store.ListCheckpoints(run.TrainingRunId).Where(c => run.ModelOwner == Options.Owner || c.Public).ToList();
            return new CheckpointsListResponse { Checkpoints = checkpoints };
        });

    /// <inheritdoc/>
    public override Task<CheckpointsListResponse> ListUserCheckpointsAsync(int limit, int offset, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            var all = Store.ListUserCheckpoints(Options.Owner);
            return new CheckpointsListResponse
            {
                Checkpoints = all.Skip(offset).Take(limit).ToList(),
                Cursor = new Cursor { Offset = offset, Limit = limit, TotalCount = all.Count },
            };
        });

    /// <inheritdoc/>
    /// <remarks>The embedded engine packs the checkpoint into a tar.gz under the data directory and returns its <c>file://</c> URL, valid for 15 minutes.</remarks>
    public override Task<CheckpointArchiveUrlResponse> GetCheckpointArchiveUrlAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        Task.Run(
            () => Guard(
                () =>
                {
                    var path = Store.CreateArchive(trainingRunId, checkpointId, Options.Owner);
                    return new CheckpointArchiveUrlResponse { Url = new Uri(path).AbsoluteUri, Expires = Store.Now.AddMinutes(15) };
                },
                requestId: null),
            cancellationToken);

    /// <inheritdoc/>
    public override Task DeleteCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            Store.DeleteCheckpoint(trainingRunId, checkpointId, Options.Owner);
            return true;
        });

    /// <inheritdoc/>
    public override Task PublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            Store.SetPublic(trainingRunId, checkpointId, Options.Owner, isPublic: true);
            return true;
        });

    /// <inheritdoc/>
    public override Task UnpublishCheckpointAsync(string trainingRunId, string checkpointId, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            Store.SetPublic(trainingRunId, checkpointId, Options.Owner, isPublic: false);
            return true;
        });

    /// <inheritdoc/>
    public override Task SetCheckpointTtlAsync(string trainingRunId, string checkpointId, long? ttlSeconds, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            Store.SetTtl(trainingRunId, checkpointId, Options.Owner, ttlSeconds);
            return true;
        });

    /// <inheritdoc/>
    public override Task<ListSessionsResponse> ListSessionsAsync(int limit, int offset, CancellationToken cancellationToken = default) =>
        Sync(() => new ListSessionsResponse { Sessions = Store.ListSessions(Options.Owner).Skip(offset).Take(limit).Select(s => s.SessionId).ToList() });

    /// <inheritdoc/>
    public override Task<GetSessionResponse> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            var session = Store.GetSession(sessionId, Options.Owner);
            return new GetSessionResponse { TrainingRunIds = session.TrainingRunIds, SamplerIds = session.SamplerIds };
        });

    /// <inheritdoc/>
    public override Task<GetSamplerResponse> GetSamplerAsync(string samplerId, CancellationToken cancellationToken = default) =>
        Sync(() =>
        {
            var sampler = Store.GetSampler(samplerId, Options.Owner);
            return new GetSamplerResponse { SamplerId = sampler.SamplerId, BaseModel = sampler.BaseModel, ModelPath = sampler.ModelPath };
        });
}
