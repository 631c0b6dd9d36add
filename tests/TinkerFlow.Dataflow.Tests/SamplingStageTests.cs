using System.Threading.Tasks.Dataflow;
using TinkerFlow.Dataflow.Tests.Fakes;
using TinkerFlow.Types;

namespace TinkerFlow.Dataflow.Tests;

public sealed class SamplingStageTests
{
    [Fact]
    public async Task SamplingStage_NeverExceedsItsConcurrencyLimit()
    {
        var fake = new FakeBackend();
        var (service, trainer) = await TestData.TrainerAsync(fake);
        await using var _ = service;
        var sampler = await trainer.SaveWeightsAndGetSamplingClientAsync();
        fake.HoldResults = true;
        var stage = SamplingStage.Build<int>(sampler, new SamplingStageOptions { MaxConcurrency = 3, BoundedCapacity = 4 });
        var results = new List<SampleResult<int>>();
        var sink = new ActionBlock<SampleResult<int>>(results.Add, new ExecutionDataflowBlockOptions { BoundedCapacity = 1 });
        stage.LinkTo(sink, new DataflowLinkOptions { PropagateCompletion = true });

        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                await stage.SendAsync(new SampleJob<int>(ModelInput.FromInts([1, 2, 3]), 2, new SamplingParams { MaxTokens = 4 }, i));
            }

            stage.Complete();
        });

        await fake.WhenAsync(() => fake.Count("sample") == 3);
        for (var released = 0; released < 10; released++)
        {
            await fake.WhenAsync(() => fake.HeldCount > 0);
            fake.Release(1);
        }

        await producer;
        await sink.Completion;
        Assert.Equal(3, fake.MaxOutstandingSamples);
        Assert.Equal(Enumerable.Range(0, 10), results.Select(r => r.Job.State).Order());
        Assert.All(results, r => Assert.Equal(2, r.Response.Sequences.Count));
    }
}
