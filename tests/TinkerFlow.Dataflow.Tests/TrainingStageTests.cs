using System.Collections.Concurrent;
using System.Threading.Tasks.Dataflow;
using TinkerFlow.Dataflow.Tests.Fakes;
using TinkerFlow.Torch;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow.Tests;

public sealed class TrainingStageTests
{
    private static (ActionBlock<TrainStepResult> Sink, ConcurrentQueue<TrainStepResult> Results) Collect(TrainingStage stage)
    {
        var results = new ConcurrentQueue<TrainStepResult>();
        var sink = new ActionBlock<TrainStepResult>(results.Enqueue, new ExecutionDataflowBlockOptions { BoundedCapacity = 1 });
        stage.Output.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });
        return (sink, results);
    }

    [Fact]
    public async Task TrainingStage_SubmitsNextStepBeforeAwaitingPrevious()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        fake.HoldResults = true;
        var stage = new TrainingStage(trainer, new TrainingStageOptions { SubmitAhead = 1, InputCapacity = 4 });
        var (sink, results) = Collect(stage);

        for (var i = 0; i < 3; i++)
        {
            Assert.True(await stage.Input.SendAsync(TestData.Batch(2)));
        }

        stage.Input.Complete();

        // Steps 0 and 1 are both queued on the backend while neither has results.
        await fake.WhenAsync(() => fake.Count("optim") == 2);
        Assert.Equal(0, stage.StepsCompleted);
        Assert.Equal(2, stage.StepsInFlight);
        Assert.Equal(["fb", "optim", "fb", "optim"], fake.Log.ToArray());

        // Only when step 0's results arrive does step 2 get a slot (1 + SubmitAhead = 2 steps in flight).
        fake.Mark("release-step-0");
        fake.Release(2);
        await fake.WhenAsync(() => fake.Count("optim") == 3);
        Assert.Equal(["fb", "optim", "fb", "optim", "release-step-0", "fb", "optim"], fake.Log.ToArray());

        fake.ReleaseAll();
        await stage.Completion;
        await sink.Completion;
        Assert.Equal([0, 1, 2], results.Select(r => r.Step));
        Assert.All(results, r => Assert.True(r.Metrics[MetricNames.ProgressStepsInFlight] <= 2));
    }

    [Fact]
    public async Task TrainingStage_SubmitAheadZero_AwaitsEachStepBeforeTheNext()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        fake.HoldResults = true;
        var stage = new TrainingStage(trainer, new TrainingStageOptions { SubmitAhead = 0 });
        var (sink, _) = Collect(stage);
        await stage.Input.SendAsync(TestData.Batch(1));
        await stage.Input.SendAsync(TestData.Batch(1));
        stage.Input.Complete();

        await fake.WhenAsync(() => fake.Count("optim") == 1);
        Assert.Equal(1, stage.StepsInFlight);
        fake.Mark("release-step-0");
        fake.Release(2);
        await fake.WhenAsync(() => fake.Count("optim") == 2);
        fake.ReleaseAll();
        await stage.Completion;
        await sink.Completion;
        Assert.Equal(["fb", "optim", "release-step-0", "fb", "optim"], fake.Log.ToArray());
    }

    [Fact]
    public async Task TrainingStage_StreamingMinibatches_SubmitsEachMinibatchAndOneOptimPerStep()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        fake.HoldResults = true;
        var stage = new TrainingStage(trainer, new TrainingStageOptions { MinibatchesPerStep = 2, SubmitAhead = 1 });
        var (sink, results) = Collect(stage);

        // The first minibatch is submitted as soon as it arrives, before the second exists.
        await stage.Input.SendAsync(TestData.Batch(2));
        await fake.WhenAsync(() => fake.Count("fb") == 1);
        Assert.Equal(["fb"], fake.Log.ToArray());

        for (var i = 0; i < 4; i++)
        {
            await stage.Input.SendAsync(TestData.Batch(2));
        }

        stage.Input.Complete();
        fake.ReleaseAll();
        await stage.Completion;
        await sink.Completion;

        // 5 minibatches: two full steps and a partial last step (nothing dropped).
        Assert.Equal(["fb", "fb", "optim", "fb", "fb", "optim", "fb", "optim"], fake.Log.ToArray());
        Assert.Equal([2, 2, 1], results.Select(r => r.ForwardBackward.Count));
        Assert.Equal(10, results.Sum(r => r.Data.Count()));
        Assert.Equal(8.0 * 2, results.First().Metrics["train/loss:sum"]);
    }

    [Fact]
    public async Task TrainingStage_AdamScheduleIsAppliedPerStep()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var schedule = new LrSchedule(LrScheduleKind.Linear, 1e-3, totalSteps: 4).ToAdamParams();
        var stage = new TrainingStage(trainer, new TrainingStageOptions { AdamParams = schedule, TotalSteps = 4 });
        var records = new List<MetricRecord>();
        using var sub = stage.Metrics.Subscribe(records.Add);
        var (sink, _) = Collect(stage);
        for (var i = 0; i < 4; i++)
        {
            await stage.Input.SendAsync(TestData.Batch(1));
        }

        stage.Input.Complete();
        await stage.Completion;
        await sink.Completion;

        double[] expected = [1e-3, 7.5e-4, 5e-4, 2.5e-4];
        Assert.Equal(expected, fake.RequestsOf<OptimStepRequest>().Select(r => Math.Round(r.AdamParams.LearningRate, 12)));
        Assert.Equal(expected, records.Select(r => Math.Round(r.Metrics[MetricNames.OptimLr], 12)));
        Assert.Equal([0.25, 0.5, 0.75, 1.0], records.Select(r => r.Metrics[MetricNames.ProgressDoneFrac]));
        // The fake returns logprob −1 for every token and the datums weigh every token 1.
        Assert.All(records, r => Assert.Equal(1.0, r.Metrics[MetricNames.TrainNll], 6));
        Assert.All(records, r => Assert.Equal(1.0, r.Metrics["optim/grad_norm:mean"]));
    }

    [Fact]
    public async Task TrainingStage_CustomLoss_RunsForwardThenBackwardAndMergesMetrics()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var calls = 0;
        TorchLossFunction loss = (data, logprobs) =>
        {
            Interlocked.Increment(ref calls);
            return new TorchLossResult(-TorchSharp.torch.cat([.. logprobs]).sum(), new Dictionary<string, double> { ["custom_metric"] = 42 });
        };
        var stage = new TrainingStage(trainer, new TrainingStageOptions { Loss = TrainingLoss.Custom("hand", (client, data, ct) => client.ForwardBackwardCustomAsync(WaitUntil.Started, data, loss, ct)) });
        var (sink, results) = Collect(stage);
        await stage.Input.SendAsync(TestData.Batch(2));
        await stage.Input.SendAsync(TestData.Batch(2));
        stage.Input.Complete();
        await stage.Completion;
        await sink.Completion;

        Assert.Equal(2, calls);
        Assert.Equal(["forward", "fb", "optim", "forward", "fb", "optim"], fake.Log.ToArray());
        Assert.All(results, r => Assert.Equal(42, r.Metrics["train/custom_metric"]));
        Assert.DoesNotContain(MetricNames.TrainNll, results.First().Metrics.Keys);
    }

    [Fact]
    public async Task TrainingStage_BackendFault_SurfacesAtCompletionAndDownstream()
    {
        var fake = new FakeBackend
        {
            Fail = (kind, index) => kind == "fb" && index == 1 ? new TinkerRequestException("boom", RequestErrorCategory.Server) : null,
        };
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var stage = new TrainingStage(trainer);
        var (sink, _) = Collect(stage);
        Exception? metricsError = null;
        using var sub = stage.Metrics.Subscribe(_ => { }, e => metricsError = e);

        var producer = Task.Run(async () =>
        {
            var sent = 0;
            while (sent < 1000 && await stage.Input.SendAsync(TestData.Batch(1)))
            {
                sent++;
            }

            return sent;
        });

        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => stage.Completion);
        Assert.Equal("boom", ex.Message);
        // A linked block sees the fault too (Dataflow wraps a propagated fault in an AggregateException).
        await Assert.ThrowsAnyAsync<Exception>(() => sink.Completion);
        Assert.IsType<TinkerRequestException>(sink.Completion.Exception!.Flatten().InnerExceptions.Single());
        Assert.True(await producer < 1000, "the producer must see SendAsync return false once the stage failed");
        Assert.IsType<TinkerRequestException>(metricsError);
    }

    [Fact]
    public async Task TrainingStage_Cancellation_StopsEveryBlock()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        fake.HoldResults = true;
        using var cts = new CancellationTokenSource();
        var stage = new TrainingStage(trainer, new TrainingStageOptions { CancellationToken = cts.Token });
        var (sink, _) = Collect(stage);
        await stage.Input.SendAsync(TestData.Batch(1));
        await stage.Input.SendAsync(TestData.Batch(1));
        await fake.WhenAsync(() => fake.Count("optim") == 2);

        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stage.Completion);
        Assert.True(stage.Input.Completion.IsCanceled);
        Assert.True(stage.Output.Completion.IsCanceled);
        Assert.False(await stage.Input.SendAsync(TestData.Batch(1)));
        await sink.Completion; // a canceled source completes its linked target
        fake.ReleaseAll();
    }

    [Fact]
    public async Task TrainingStage_EmptyBatch_FaultsWithClearMessage()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var stage = new TrainingStage(trainer);
        stage.Output.LinkTo(DataflowBlock.NullTarget<TrainStepResult>());
        await stage.Input.SendAsync(Array.Empty<Datum>());
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => stage.Completion);
        Assert.Contains("empty batch", ex.Message);
    }
}
