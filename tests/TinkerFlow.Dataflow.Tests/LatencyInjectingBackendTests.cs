using System.Threading.Tasks.Dataflow;
using Microsoft.Extensions.Time.Testing;
using TinkerFlow.Dataflow.Tests.Fakes;

namespace TinkerFlow.Dataflow.Tests;

public sealed class LatencyInjectingBackendTests
{
    private static async Task<IReadOnlyList<LatencyTraceEntry>> TrainAsync(int submitAhead, int steps)
    {
        // S ≫ RTT so that "submitted while the previous step runs" does not depend on scheduling noise.
        var backend = new LatencyInjectingBackend(new FakeBackend(), stepTime: TimeSpan.FromMilliseconds(120), roundTrip: TimeSpan.FromMilliseconds(10));
        var (service, trainer) = await TestData.TrainerAsync(backend);
        await using var _ = service;
        var stage = new TrainingStage(trainer, new TrainingStageOptions { SubmitAhead = submitAhead, InputCapacity = steps });
        stage.Output.LinkTo(DataflowBlock.NullTarget<TrainStepResult>());
        for (var i = 0; i < steps; i++)
        {
            await stage.Input.SendAsync(TestData.Batch(2));
        }

        stage.Input.Complete();
        await stage.Completion;
        return backend.Trace;
    }

    private static int Overlaps(IReadOnlyList<LatencyTraceEntry> trace)
    {
        var fb = trace.Where(e => e.Operation == "forward_backward").ToList();
        var optim = trace.Where(e => e.Operation == "optim_step").ToList();
        return Enumerable.Range(0, fb.Count - 1).Count(i => fb[i + 1].SubmittedAt < optim[i].DeliveredAt);
    }

    [Fact]
    public async Task LatencyInjectingBackend_PipelinedStepsOverlapSequentialStepsDoNot()
    {
        const int steps = 4;
        var sequential = await TrainAsync(submitAhead: 0, steps);
        var pipelined = await TrainAsync(submitAhead: 1, steps);
        var deeper = await TrainAsync(submitAhead: 2, steps);

        // Sequential: the next step is submitted only after the previous step's result came back, so the simulated
        // server sits idle (about one round trip) between every two steps.
        Assert.Equal(0, Overlaps(sequential));
        Assert.All(Enumerable.Range(1, steps - 1), i =>
            Assert.True(sequential.Where(e => e.Operation == "forward_backward").ElementAt(i).ServerStart
                > sequential.Where(e => e.Operation == "optim_step").ElementAt(i - 1).ServerFinish));

        // Pipelined: step N+1 is queued while step N still runs (ordering, not durations).
        Assert.True(Overlaps(pipelined) >= 1);
        Assert.True(Overlaps(deeper) >= 1);
    }

    [Fact]
    public async Task LatencyInjectingBackend_AddsRoundTripAndStepTimeOnFakeTime()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var backend = new LatencyInjectingBackend(fake, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), time);
        var request = new Types.OptimStepRequest { AdamParams = new Types.AdamParams(), ModelId = trainer.ModelId, SeqId = 1 };

        var submit = backend.OptimStepAsync(request);
        Assert.False(submit.IsCompleted); // the acknowledgement takes one round trip
        time.Advance(TimeSpan.FromSeconds(2));
        var op = await submit;
        var entry = Assert.Single(backend.Trace);
        Assert.Equal(time.Start.AddSeconds(1), entry.ServerStart); // arrives after RTT/2
        Assert.Equal(time.Start.AddSeconds(11), entry.ServerFinish);
        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(op.Result.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(0.1)); // finish + RTT/2 = 12 s
        await op.Result;
        Assert.Equal(time.Start.AddSeconds(12), entry.DeliveredAt);
    }
}
