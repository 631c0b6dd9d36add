using TinkerFlow.Local.Limits;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Tests.Backend;

/// <summary>
/// Shutting the engine down while requests run: the loops that use the tensors stop (finishing their current step)
/// before anything is freed, so the process survives and every request ends with a result or a clear error.
/// </summary>
[Collection("Torch")]
public sealed class ShutdownTests : IDisposable
{
    private const string Model = "tinkerflow/tiny-qwen3";
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task DisposeAsync_WhileForwardBackwardAndSamplesRun_WaitsForTheirStepsAndEndsEveryRequest()
    {
        for (int round = 0; round < 12; round++)
        {
            var backend = new LocalBackend(new LocalBackendOptions { HomeDirectory = _home.Path, ModelDirectories = new Dictionary<string, string>(), Limits = new ResourceLimits() });
            var session = (await backend.CreateSessionAsync(new CreateSessionRequest { SdkVersion = "0.18.2" })).SessionId;
            var model = (await (await backend.CreateModelAsync(new CreateModelRequest { SessionId = session, ModelSeqId = 0, BaseModel = Model, LoraConfig = new LoraConfig { Rank = 8 } })).Result).ModelId;
            var sampler = await backend.CreateSamplingSessionAsync(new CreateSamplingSessionRequest { SessionId = session, SamplingSessionSeqId = 1, BaseModel = Model });
            var tokens = Enumerable.Range(1, 200).ToArray();
            var datum = Datum.Create(ModelInput.FromInts(tokens), new Dictionary<string, object> { ["target_tokens"] = tokens, ["weights"] = tokens.Select(_ => 1f).ToArray() });

            var work = new List<Task>();
            for (int i = 0; i < 3; i++)
            {
                var fb = await backend.ForwardBackwardAsync(new ForwardBackwardRequest
                {
                    ModelId = model,
                    SeqId = 2 + i,
                    ForwardBackwardInput = new ForwardBackwardInput { Data = [datum, datum, datum, datum], LossFn = LossFnType.CrossEntropy },
                });
                work.Add(fb.Result);
                var sample = await backend.SampleAsync(new SampleRequest
                {
                    SamplingSessionId = sampler.SamplingSessionId,
                    NumSamples = 4,
                    Prompt = ModelInput.FromInts([1, 2, 3]),
                    SamplingParams = new SamplingParams { MaxTokens = 64, Seed = i },
                });
                work.Add(sample.Result);
            }

            // Let the loops get into a step (a different point of it in each round), then shut down under them.
            await Task.Delay(3 * round);
            await backend.DisposeAsync();

            foreach (var task in work)
            {
                var ended = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(60)));
                Assert.Same(task, ended);
                if (task.IsFaulted)
                {
                    var error = task.Exception!.GetBaseException();
                    Assert.True(error is ObjectDisposedException or TinkerRequestException, $"unexpected {error.GetType().Name}: {error.Message}");
                }
            }
        }
    }
}
