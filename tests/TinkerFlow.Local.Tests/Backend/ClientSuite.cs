using System.Diagnostics;
using TinkerFlow.Dataflow;
using TinkerFlow.Diagnostics;
using TinkerFlow.Types;

namespace TinkerFlow.Local.Tests.Backend;

/// <summary>
/// Client behaviour that must hold on every backend: a concrete subclass supplies the backend (the embedded engine here;
/// an in-process TinkerFlow.Server over HTTP elsewhere). Uses the built-in tiny model.
/// </summary>
public abstract class ClientSuite : IAsyncLifetime
{
    protected const string Model = "tinkerflow/tiny-qwen3";

    private ServiceClient? _service;

    protected ServiceClient Service => _service ?? throw new InvalidOperationException("Not initialised.");

    protected abstract Task<TinkerBackend> CreateBackendAsync();

    protected virtual Task DisposeBackendAsync() => Task.CompletedTask;

    public async Task InitializeAsync() => _service = new ServiceClient(await CreateBackendAsync());

    public async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        await DisposeBackendAsync();
    }

    protected async Task<(TrainingClient Client, TinkerTokenizer Tokenizer)> NewClientAsync(int rank = 8, int seed = 1)
    {
        var client = await Service.CreateLoraTrainingClientAsync(Model, rank: rank, seed: seed);
        return (client, await client.GetTokenizerAsync());
    }

    /// <summary>One next-token-prediction datum over the text, loss on every position.</summary>
    protected static Datum TextDatum(TinkerTokenizer tokenizer, string text)
    {
        var ids = tokenizer.Encode(text);
        return Datum.Create(
            ModelInput.FromInts(ids.Take(ids.Count - 1)),
            new Dictionary<string, object>
            {
                ["target_tokens"] = ids.Skip(1).ToArray(),
                ["weights"] = Enumerable.Repeat(1f, ids.Count - 1).ToArray(),
            });
    }

    protected static double MeanNll(ForwardBackwardOutput output, IReadOnlyList<Datum> data)
    {
        var tokens = data.Sum(d => d.ModelInput.Length);
        return output.Metrics["loss:sum"] / tokens;
    }

    /// <summary>True when the backend reaches the engine through a TinkerFlow server (server request spans exist).</summary>
    protected virtual bool ThroughServer => false;

    [Fact]
    public async Task Tracing_AThreeStepRunHasASpanPerOperationTaggedWithModelSeqRequestAndChunks()
    {
        using var collector = new OperationSpanRecorder();
        var measurements = new System.Collections.Concurrent.ConcurrentQueue<(string Instrument, double Value, string? Operation)>();
        using var meter = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == TinkerFlowTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record(System.Diagnostics.Metrics.Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? operation = null;
            foreach (var tag in tags)
            {
                operation = tag.Key == TinkerFlowTelemetry.OperationTag ? tag.Value as string : operation;
            }

            measurements.Enqueue((instrument.Name, value, operation));
        }

        meter.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        meter.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        meter.Start();
        var (client, tokenizer) = await NewClientAsync();
        var data = new[] { "The quick brown fox.", "Pack my box." }.Select(t => TextDatum(tokenizer, t)).ToList();
        for (var step = 0; step < 3; step++)
        {
            var fb = await client.ForwardBackwardAsync(WaitUntil.Started, data, LossFnType.CrossEntropy);
            var opt = await client.OptimStepAsync(WaitUntil.Started, new AdamParams { LearningRate = 1e-3 });
            await fb;
            await opt;
        }

        var sampler = await client.SaveWeightsAndGetSamplingClientAsync();
        var prompt = ModelInput.FromInts(tokenizer.Encode("The"));
        var sample = (await sampler.SampleAsync(WaitUntil.Completed, prompt, 2, new SamplingParams { MaxTokens = 3, Seed = 1 })).Value;

        // The client spans of this model, in seq order: 3 × (forward_backward, optim_step), then the snapshot.
        var spans = await WaitForAsync(collector, all => all.Count(s => s.Kind == ActivityKind.Client && Tag(s, TinkerFlowTelemetry.ModelIdTag) == client.ModelId) == 7);
        var training = spans.Where(s => s.Kind == ActivityKind.Client && Tag(s, TinkerFlowTelemetry.ModelIdTag) == client.ModelId)
            .OrderBy(s => long.Parse(Tag(s, TinkerFlowTelemetry.SeqIdTag)!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var listing = SpanCollector.Describe(spans);
        Assert.True(
            new[] { "forward_backward", "optim_step", "forward_backward", "optim_step", "forward_backward", "optim_step", "save_weights_for_sampler" }
                .SequenceEqual(training.Select(s => s.OperationName)),
            listing);
        Assert.Equal(["1", "2", "3", "4", "5", "6", "7"], training.Select(s => Tag(s, TinkerFlowTelemetry.SeqIdTag)));
        Assert.All(training, s =>
        {
            Assert.Equal(s.OperationName, Tag(s, TinkerFlowTelemetry.OperationTag));
            Assert.False(string.IsNullOrEmpty(Tag(s, TinkerFlowTelemetry.RequestIdTag)), listing);
            Assert.Equal("1", Tag(s, TinkerFlowTelemetry.ChunkCountTag));
            Assert.Equal(ActivityStatusCode.Unset, s.Status);
            Assert.Contains(s.Events, e => e.Name == TinkerFlowTelemetry.SubmittedEvent);
        });
        Assert.Equal(training.Select(s => s.TraceId).Distinct().Count(), training.Count);    // one trace per operation
        var tokens = data.Sum(d => d.ModelInput.Length).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(training.Where(s => s.OperationName == "forward_backward"), s => Assert.Equal(tokens, Tag(s, TinkerFlowTelemetry.TokensTag)));

        var sampleSpan = Assert.Single(spans, s => s.Kind == ActivityKind.Client && s.OperationName == "sample" && Tag(s, TinkerFlowTelemetry.SamplingSessionIdTag) == sampler.SamplingSessionId);
        Assert.Equal("0", Tag(sampleSpan, TinkerFlowTelemetry.SeqIdTag));
        Assert.Equal(((2 * prompt.Length) + sample.Sequences.Sum(q => q.Tokens.Count)).ToString(System.Globalization.CultureInfo.InvariantCulture), Tag(sampleSpan, TinkerFlowTelemetry.TokensTag));

        // The meter saw the same operations (other tests may add to it: at least ours).
        Assert.True(measurements.Count(m => m.Instrument == TinkerFlowTelemetry.OperationDurationInstrument && m.Operation == "optim_step") >= 3);
        Assert.True(measurements.Where(m => m.Instrument == TinkerFlowTelemetry.TokensInstrument && m.Operation == "forward_backward").Sum(m => m.Value) >= 3 * data.Sum(d => d.ModelInput.Length));
        Assert.True(measurements.Count(m => m.Instrument == TinkerFlowTelemetry.TokensInstrument && m.Operation == "sample") >= 1);
        if (!ThroughServer)
        {
            Assert.True(measurements.Count(m => m.Instrument == TinkerFlowTelemetry.QueueWaitInstrument && m.Operation == "forward_backward") >= 3);
        }

        // Every operation's engine step (and, through a server, its HTTP request) is in the operation's trace.
        foreach (var op in training.Append(sampleSpan))
        {
            var engine = Assert.Single(spans, s => s.TraceId == op.TraceId && s.OperationName == "engine." + op.OperationName);
            Assert.Equal(Tag(op, TinkerFlowTelemetry.SeqIdTag), Tag(engine, TinkerFlowTelemetry.SeqIdTag));
            Assert.True(double.Parse(Tag(engine, TinkerFlowTelemetry.QueueWaitTag)!, System.Globalization.CultureInfo.InvariantCulture) >= 0, listing);
            Assert.True(engine.StartTimeUtc >= op.StartTimeUtc && engine.StartTimeUtc + engine.Duration <= op.StartTimeUtc + op.Duration, listing);
            if (ThroughServer)
            {
                Assert.Contains(spans, s => s.TraceId == op.TraceId && s.Kind == ActivityKind.Server && s.DisplayName == "POST /api/v1/" + (op.OperationName == "sample" ? "asample" : op.OperationName));
                Assert.Equal(ActivityKind.Server, spans.Single(s => s.SpanId == engine.ParentSpanId).Kind);
            }
            else
            {
                Assert.Equal(op.SpanId, engine.ParentSpanId);
                Assert.False(string.IsNullOrEmpty(Tag(op, TinkerFlowTelemetry.QueueWaitTag)), listing);   // the embedded engine reports its start
            }
        }
    }

    private static string? Tag(Activity span, string name) => span.GetTagItem(name) is { } value ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>Spans stop on other threads just after results arrive: wait briefly until the condition holds.</summary>
    private static async Task<IReadOnlyList<Activity>> WaitForAsync(OperationSpanRecorder collector, Func<IReadOnlyList<Activity>, bool> condition)
    {
        for (var i = 0; i < 100 && !condition(collector.Spans); i++)
        {
            await Task.Delay(20);
        }

        await Task.Delay(50);
        return collector.Spans;
    }

    [Fact]
    public async Task Capabilities_ListTheBuiltinModel()
    {
        var caps = await Service.GetServerCapabilitiesAsync();
        Assert.Contains(caps.SupportedModels, m => m.ModelName == Model && m.MaxContextLength > 0);
    }

    [Fact]
    public async Task Training_ThirtyStepsHalveCrossEntropyOnAMemorisationBatch()
    {
        var (client, tokenizer) = await NewClientAsync();
        var data = new[] { "The quick brown fox jumps over the lazy dog.", "Pack my box with five dozen liquor jugs!", "12+35=47" }
            .Select(t => TextDatum(tokenizer, t)).ToList();
        var adam = new AdamParams { LearningRate = 5e-3 };

        var first = MeanNll((await client.ForwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy)).Value, data);
        for (var step = 0; step < 30; step++)
        {
            var fb = await client.ForwardBackwardAsync(WaitUntil.Started, data, LossFnType.CrossEntropy);
            var opt = await client.OptimStepAsync(WaitUntil.Started, adam);
            await fb;
            await opt;
        }

        var last = MeanNll((await client.ForwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy)).Value, data);
        Assert.True(last <= 0.5 * first, $"cross-entropy went {first:F3} → {last:F3}; expected at least a 50% cut");
    }

    [Fact]
    public async Task ForwardBackward_ReturnsLogprobsAndElementwiseLossPerDatum()
    {
        var (client, tokenizer) = await NewClientAsync();
        var data = new List<Datum> { TextDatum(tokenizer, "hello world"), TextDatum(tokenizer, "hi") };

        var output = (await client.ForwardBackwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy)).Value;

        Assert.Equal(2, output.LossFnOutputs.Count);
        for (var i = 0; i < 2; i++)
        {
            var lp = output.LossFnOutputs[i]["logprobs"].ToFloat32Array();
            var el = output.LossFnOutputs[i]["elementwise_loss"].ToFloat32Array();
            Assert.Equal(data[i].ModelInput.Length, lp.Length);
            Assert.All(lp, v => Assert.True(v <= 0 && float.IsFinite(v)));
            Assert.Equal(lp.Select(v => -v), el.Select(v => v), (a, b) => Math.Abs(a - b) < 1e-5);
        }

        var total = output.LossFnOutputs.Sum(o => o["elementwise_loss"].ToFloat32Array().Sum());
        Assert.Equal(total, output.Metrics["loss:sum"], 3);
    }

    [Fact]
    public async Task FreshAdapter_ScoresLikeTheBaseModel()
    {
        var (client, tokenizer) = await NewClientAsync();
        var datum = TextDatum(tokenizer, "Sampling and training agree.");
        var trainLogprobs = (await client.ForwardAsync(WaitUntil.Completed, [datum], LossFnType.CrossEntropy)).Value.LossFnOutputs[0]["logprobs"].ToFloat32Array();

        var baseSampler = await Service.CreateSamplingClientAsync(baseModel: Model);
        var ids = tokenizer.Encode("Sampling and training agree.");
        var promptLogprobs = await baseSampler.ComputeLogprobsAsync(ModelInput.FromInts(ids));

        Assert.Null(promptLogprobs[0]);
        for (var i = 0; i < trainLogprobs.Length; i++)
        {
            Assert.Equal(promptLogprobs[i + 1]!.Value, trainLogprobs[i], 4);
        }
    }

    [Fact]
    public async Task SaveAndLoadState_ReproduceLogitsAndTheNextOptimizerStep()
    {
        var (a, tokenizer) = await NewClientAsync(seed: 3);
        var data = new List<Datum> { TextDatum(tokenizer, "resume me exactly") };
        var adam = new AdamParams { LearningRate = 1e-2 };
        for (var i = 0; i < 3; i++)
        {
            await a.ForwardBackwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy);
            await a.OptimStepAsync(WaitUntil.Completed, adam);
        }

        var saved = (await a.SaveStateAsync(WaitUntil.Completed, "after-3")).Value.Path;
        var b = await Service.CreateTrainingClientFromStateWithOptimizerAsync(saved);

        var la = (await a.ForwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy)).Value.LossFnOutputs[0]["logprobs"].ToFloat32Array();
        var lb = (await b.ForwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy)).Value.LossFnOutputs[0]["logprobs"].ToFloat32Array();
        Assert.Equal(la, lb);

        foreach (var client in new[] { a, b })
        {
            await client.ForwardBackwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy);
            await client.OptimStepAsync(WaitUntil.Completed, adam);
        }

        var na = (await a.ForwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy)).Value.LossFnOutputs[0]["logprobs"].ToFloat32Array();
        var nb = (await b.ForwardAsync(WaitUntil.Completed, data, LossFnType.CrossEntropy)).Value.LossFnOutputs[0]["logprobs"].ToFloat32Array();
        Assert.Equal(na, nb);
        Assert.NotEqual(la, na);
    }

    [Fact]
    public async Task SamplingClient_FromSnapshotIsImmutableAndSeeded()
    {
        var (client, tokenizer) = await NewClientAsync();
        var prompt = ModelInput.FromInts(tokenizer.Encode("Once upon"));
        var sampler = await client.SaveWeightsAndGetSamplingClientAsync();
        var p = new SamplingParams { MaxTokens = 8, Temperature = 1, Seed = 42 };

        var first = (await sampler.SampleAsync(WaitUntil.Completed, prompt, 3, p)).Value;
        await client.ForwardBackwardAsync(WaitUntil.Completed, [TextDatum(tokenizer, "Once upon a time")], LossFnType.CrossEntropy);
        await client.OptimStepAsync(WaitUntil.Completed, new AdamParams { LearningRate = 0.05 });
        var again = (await sampler.SampleAsync(WaitUntil.Completed, prompt, 3, p)).Value;

        Assert.Equal(3, first.Sequences.Count);
        Assert.Equal(first.Sequences.Select(s => s.Tokens), again.Sequences.Select(s => s.Tokens));
        Assert.All(first.Sequences, s => Assert.Equal(StopReason.Length, s.StopReason));
        Assert.All(first.Sequences, s => Assert.Equal(8, s.Tokens.Count));
    }

    [Fact]
    public async Task NamedSamplerCheckpoint_CanBeSampledByPath()
    {
        var (client, tokenizer) = await NewClientAsync();
        var path = (await client.SaveWeightsForSamplerAsync(WaitUntil.Completed, "s1")).Value.Path!;
        Assert.Equal($"tinker://{client.ModelId}/sampler_weights/s1", path);

        var sampler = await Service.CreateSamplingClientAsync(modelPath: path);
        var result = (await sampler.SampleAsync(WaitUntil.Completed, ModelInput.FromInts(tokenizer.Encode("a")), 1, new SamplingParams { MaxTokens = 3, Temperature = 0 })).Value;

        Assert.Equal(3, Assert.Single(result.Sequences).Tokens.Count);
        var info = await sampler.GetSamplerInfoAsync();
        Assert.Equal(Model, info.BaseModel);
    }

    [Fact]
    public async Task Checkpoints_ListPublishTtlArchiveAndDelete()
    {
        var (client, _) = await NewClientAsync();
        var path = (await client.SaveStateAsync(WaitUntil.Completed, "c1")).Value.Path;
        var rest = Service.CreateRestClient();

        var listed = await rest.ListCheckpointsAsync(client.ModelId);
        var checkpoint = Assert.Single(listed.Checkpoints);
        Assert.Equal("weights/c1", checkpoint.CheckpointId);
        Assert.Equal(CheckpointType.Training, checkpoint.CheckpointType);
        Assert.True(checkpoint.SizeBytes > 0);
        Assert.False(checkpoint.Public);

        await rest.PublishCheckpointFromTinkerPathAsync(path);
        var again = await Assert.ThrowsAsync<TinkerRequestException>(() => rest.PublishCheckpointFromTinkerPathAsync(path));
        Assert.Equal(409, again.Status);
        await rest.SetCheckpointTtlFromTinkerPathAsync(path, 3600);
        var after = Assert.Single((await rest.ListCheckpointsAsync(client.ModelId)).Checkpoints);
        Assert.True(after.Public);
        Assert.NotNull(after.ExpiresAt);

        var info = await rest.GetWeightsInfoByTinkerPathAsync(path);
        Assert.Equal(8, info.LoraRank);
        var run = await rest.GetTrainingRunByTinkerPathAsync(path);
        Assert.Equal(client.ModelId, run.TrainingRunId);
        Assert.Equal("weights/c1", run.LastCheckpoint!.CheckpointId);

        var archive = await rest.GetCheckpointArchiveUrlFromTinkerPathAsync(path);
        Assert.True(Uri.TryCreate(archive.Url, UriKind.Absolute, out _), archive.Url); // file:// (embedded) or a signed http(s) URL (server)

        await rest.DeleteCheckpointFromTinkerPathAsync(path);
        Assert.Empty((await rest.ListCheckpointsAsync(client.ModelId)).Checkpoints);
        var gone = await Assert.ThrowsAsync<TinkerRequestException>(() => client.LoadStateAsync(WaitUntil.Completed, path));
        Assert.Equal(RequestErrorCategory.User, gone.Category);
        Assert.Contains("not found", gone.Message);
    }

    [Fact]
    public async Task SaveState_ExistingNameWithoutOverwriteIsAConflict()
    {
        var (client, _) = await NewClientAsync();
        await client.SaveStateAsync(WaitUntil.Completed, "dup");

        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => client.SaveStateAsync(WaitUntil.Completed, "dup"));
        Assert.Equal(RequestErrorCategory.User, ex.Category);
        Assert.Contains("overwrite", ex.Message);
        await client.SaveStateAsync(WaitUntil.Completed, "dup", overwrite: true);
    }

    [Fact]
    public async Task BadInput_FailsAsUserErrorAndLeavesTheModelUntouched()
    {
        var (client, tokenizer) = await NewClientAsync();
        var good = TextDatum(tokenizer, "stable");
        var before = (await client.ForwardAsync(WaitUntil.Completed, [good], LossFnType.CrossEntropy)).Value.LossFnOutputs[0]["logprobs"].ToFloat32Array();
        var outOfVocab = Datum.Create(ModelInput.FromInts([1, 999_999]), new Dictionary<string, object> { ["target_tokens"] = new[] { 2, 3 }, ["weights"] = new[] { 1f, 1f } });
        var wrongLength = Datum.Create(ModelInput.FromInts([1, 2, 3]), new Dictionary<string, object> { ["target_tokens"] = new[] { 2, 3 }, ["weights"] = new[] { 1f, 1f } });

        var e1 = await Assert.ThrowsAsync<TinkerRequestException>(() => client.ForwardBackwardAsync(WaitUntil.Completed, [good, outOfVocab], LossFnType.CrossEntropy));
        var e2 = await Assert.ThrowsAsync<TinkerRequestException>(() => client.ForwardBackwardAsync(WaitUntil.Completed, [good, wrongLength], LossFnType.CrossEntropy));
        var e3 = await Assert.ThrowsAsync<TinkerRequestException>(() => client.ForwardBackwardAsync(WaitUntil.Completed, [good], LossFnType.Ppo, new Dictionary<string, double> { ["clip_eps"] = 0.2 }));

        Assert.All(new[] { e1, e2, e3 }, e => Assert.Equal(RequestErrorCategory.User, e.Category));
        Assert.Contains("999999", e1.Message);
        Assert.Contains("clip_eps", e3.Message);

        // Nothing was accumulated: an optimizer step now changes nothing.
        await client.OptimStepAsync(WaitUntil.Completed, new AdamParams { LearningRate = 0.1 });
        var after = (await client.ForwardAsync(WaitUntil.Completed, [good], LossFnType.CrossEntropy)).Value.LossFnOutputs[0]["logprobs"].ToFloat32Array();
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task UnknownBaseModel_ListsTheAvailableOnes()
    {
        var ex = await Assert.ThrowsAsync<TinkerRequestException>(() => Service.CreateLoraTrainingClientAsync("nobody/nothing"));
        Assert.Equal(RequestErrorCategory.User, ex.Category);
        Assert.Contains(Model, ex.Message);
    }

    [Fact]
    public async Task RestClient_ListsRunsAndSessions()
    {
        var (client, _) = await NewClientAsync();
        var rest = Service.CreateRestClient();

        var runs = await rest.ListTrainingRunsAsync();
        Assert.Contains(runs.TrainingRuns, r => r.TrainingRunId == client.ModelId && r.BaseModel == Model && r.LoraRank == 8);
        var sessions = await rest.ListSessionsAsync();
        Assert.Contains(Service.SessionId, sessions.Sessions);
        var session = await rest.GetSessionAsync(Service.SessionId!);
        Assert.Contains(client.ModelId, session.TrainingRunIds);
    }
}
