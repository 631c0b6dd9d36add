using TinkerFlow.Local.Tests.Backend;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Tests.Faults;

/// <summary>
/// Issue 4: the server is stopped after the run saved its state at step 10 and started again on the same home
/// directory (another port); the same client resumes from that checkpoint with its optimizer state and reaches the
/// weights of an uninterrupted 20-step run, and every saved checkpoint is still listed.
/// </summary>
[Collection("Torch")]
public sealed class ServerRestartTests : IDisposable
{
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Restart_ResumeFromSavedStateReachesTheUninterruptedWeights()
    {
        const int half = FaultTraining.Steps / 2;
        // Forwards to whichever server runs; loses the first answer of every save_weights (replayed, saved once).
        using var forwarder = new FaultInjectingHandler(
            new Uri("http://127.0.0.1:1/"),
            r => r is { Endpoint: "save_weights", Attempt: 0 } ? FaultKind.DropAfterProcessing : FaultKind.None);
        await using var service = new ServiceClient(FaultTraining.Options(new Uri("http://127.0.0.1:1/"), forwarder));
        string runId;
        string path;
        await using (var first = await FaultHost.StartAsync(_home.Path))
        {
            forwarder.Target = first.BaseUrl;
            var training = await FaultTraining.CreateAsync(service);
            runId = training.ModelId;
            await FaultTraining.TrainAsync(training, 0, 5);
            await training.SaveStateAsync(WaitUntil.Completed, "step-5");
            await FaultTraining.TrainAsync(training, 5, half);
            path = (await training.SaveStateAsync(WaitUntil.Completed, "step-10")).Value.Path;
        }

        // The first server is gone: a new one on the same home, another port.
        await using var second = await FaultHost.StartAsync(_home.Path);
        Assert.NotEqual(forwarder.Target.Port, second.BaseUrl.Port);
        forwarder.Target = second.BaseUrl;

        var resumed = await service.CreateTrainingClientFromStateWithOptimizerAsync(path);
        var resumedLosses = await FaultTraining.TrainAsync(resumed, half, FaultTraining.Steps);
        var resumedProbe = await FaultTraining.ProbeAsync(resumed);

        // Nothing saved before the restart was lost.
        var rest = service.CreateRestClient();
        var run = await rest.GetTrainingRunAsync(runId);
        Assert.Equal(ServerHost.Model, run.BaseModel);
        var checkpoints = (await rest.ListCheckpointsAsync(runId)).Checkpoints;
        Assert.Contains(checkpoints, c => c.CheckpointId == "weights/step-5" && c.CheckpointType == CheckpointType.Training);
        Assert.Contains(checkpoints, c => c.CheckpointId == "weights/step-10" && c.TinkerPath == path);
        Assert.Equal(2, checkpoints.Count);
        Assert.Equal(2, forwarder.Injected[FaultKind.DropAfterProcessing]);
        var early = await service.CreateTrainingClientFromStateAsync($"tinker://{runId}/weights/step-5");
        Assert.Equal(4, (await early.GetInfoAsync()).LoraRank);

        // The same run without the restart, on the new server.
        await using var undisturbed = new ServiceClient(FaultTraining.Options(second.BaseUrl, handler: null));
        var reference = await FaultTraining.CreateAsync(undisturbed);
        var referenceLosses = await FaultTraining.TrainAsync(reference, 0, FaultTraining.Steps);
        var referenceProbe = await FaultTraining.ProbeAsync(reference);

        FaultTraining.AssertSameWeights(referenceProbe, resumedProbe);
        Assert.Equal(referenceLosses[half..], resumedLosses);
    }
}
