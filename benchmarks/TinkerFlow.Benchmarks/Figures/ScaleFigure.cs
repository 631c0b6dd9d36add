using TinkerFlow;
using System.Diagnostics;
using TinkerFlow.Benchmarks.Engine;
using TinkerFlow.Benchmarks.Quick;
using TinkerFlow.Local.BuiltinModels;
using TinkerFlow.Local.Engine;
using TinkerFlow.Local.Lora;
using TinkerFlow.Local.Training;
using TinkerFlow.Local.Weights;
using TinkerFlow.Types;

namespace TinkerFlow.Benchmarks.Figures;

/// <summary>
/// The embedded engine on a real-size model: a folder with Qwen3-0.6B's shapes (random bf16 weights, the real tokenizer;
/// <see cref="ScaleModelFolder"/>), loaded as any registered model folder is, trained with LoRA rank 32 on q,k,v,o,
/// gate, up, down over a cross_entropy batch of 8 × 512 tokens with the engine's default settings, then decoded greedily.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term><c>scale_train_tokens_per_s</c></term><description>tokens per second of forward_backward + optim_step (the measured step after one warm-up)</description></item>
/// <item><term><c>scale_train_mfu</c></term><description>that step's GEMM FLOPs (<see cref="TrainingFlops"/>, recomputation not counted) per second ÷ the measured fp32 GEMM peak; target ≥ 0.5</description></item>
/// <item><term><c>scale_peak_rss_gb</c></term><description>peak resident set (VmHWM, reset after the folder is generated) from load through the training steps, 10⁹ bytes; target ≤ 8</description></item>
/// <item><term><c>scale_decode_vs_bandwidth</c></term><description>batch-1 greedy decode tokens/s (best of three runs of 32 tokens) ÷ (read bandwidth measured just before each of those runs, best of them, ÷ bytes of matmul weights read per token); target ≥ 0.7</description></item>
/// </list>
/// <para><c>TINKERFLOW_SCALE_BATCH=BxT</c> changes the training batch (e.g. 4x256, the size of the issue's first measurement).
/// Slow (minutes): select it alone with <c>--figure scale</c>. <c>--smoke</c> runs a 2-layer, 64-wide model with the same
/// vocabulary.</para>
/// </remarks>
internal sealed class ScaleFigure : IQuickFigure
{
    public string Name => "scale";

    public int Order => 1000;

    public Task<IReadOnlyList<(string Name, double Value)>> MeasureAsync(QuickContext context)
    {
        var config = context.Smoke ? ScaleModelFolder.Smoke : ScaleModelFolder.Qwen3_0_6B;
        var (batch, sequence) = context.Smoke ? (2, 32) : ParseBatch(Environment.GetEnvironmentVariable("TINKERFLOW_SCALE_BATCH")) ?? (8, 512);
        const int rank = 32;

        NativeSetup.EnsureInitialized();                                  // as the engine does: huge pages, heap trims
        var clock = Stopwatch.StartNew();
        var (folder, generated) = ScaleModelFolder.Ensure(config, context.Smoke ? "scale-smoke" : "qwen3-0.6b-shapes");
        context.Log($"model folder {folder} ({(generated ? $"generated in {Stats.Seconds(clock.Elapsed.TotalSeconds)}" : "cached")})");

        double peak = GemmPeak.Measure(context.Smoke ? 256 : 2048, context.Smoke ? 2 : 4, out _);
        long probeBytes = context.Smoke ? 64L << 20 : 1L << 30;
        double startBandwidth = MemoryBandwidth.MeasureRead(probeBytes, context.Smoke ? 2 : 5);
        context.Log($"fp32 GEMM peak {peak / 1e9:0.0} GFLOP/s; read bandwidth {startBandwidth / 1e9:0.0} GB/s (at the start)");

        bool resetPeak = ProcessMemory.ResetPeak();
        long rssBefore = ProcessMemory.ResidentBytes() ?? 0;
        clock.Restart();
        var model = HfModelLoader.Load(folder);
        model.eval();
        context.Log($"loaded {model.ParameterCount / 1e6:0.0}M parameters (bf16 → fp32) in {Stats.Seconds(clock.Elapsed.TotalSeconds)}; "
            + $"RSS {(ProcessMemory.ResidentBytes() ?? 0) / 1e9:0.00} GB (was {rssBefore / 1e9:0.00} GB)");

        BuiltinModelCatalog.TryGet(BuiltinModelCatalog.TinyQwen3, out var assets);
        using var baseModel = new BaseModel("scale", model, new HuggingFaceTokenizer(assets!.Name, assets.Tokenizer), folder);
        var adapter = LoraAdapter.Create(model, new LoraAdapterOptions
        {
            Rank = rank,
            Alpha = 32,
            TargetModules = LoraAdapterOptions.Targets(trainAttn: true, trainMlp: true, trainUnembed: false),
            Seed = 1,
        });
        using var training = new TrainingModel("scale", "bench", "bench", baseModel, new LoraConfig { Rank = rank }, adapter, TimeSpan.FromSeconds(1));
        var input = RequestFactory.CrossEntropyInput(batch, sequence, config.VocabSize, seed: 42);
        var settings = new TrainingSettings(16_384);
        int checkpointed = TrainingMemoryEstimate.CheckpointedLayers(config, rank, batch, sequence, padded: false, settings.Checkpointing, settings.ActivationBudgetBytes);
        long estimate = TrainingMemoryEstimate.ForwardBackwardBytes(config, rank, Enumerable.Repeat(sequence, batch).ToList(), settings.MaxTokensPerMicroBatch, true, settings.Checkpointing, settings.ActivationBudgetBytes);
        context.Log($"batch {batch}x{sequence}, LoRA r{rank} ({adapter.ParameterCount / 1e6:0.00}M), checkpointing {settings.Checkpointing}: "
            + $"{checkpointed}/{config.NumHiddenLayers} layers checkpointed, estimated step memory {estimate / 1e9:0.00} GB beyond the weights");

        var adam = new AdamWHyperparameters(LearningRate: 1e-4);
        var steps = new List<(double Fb, double Optim, double Loss)>();
        var cpu = CpuShare.Start();
        for (int i = 0; i < 2; i++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            double loss = 0;
            double fb = Stats.Time(() =>
            {
                loss = TrainingComputation.Run(training, input, backward: true, settings).Metrics[TinkerLosses.LossSumMetric];
                NativeSetup.AfterStep(estimate);
            });
            double optim = Stats.Time(() =>
            {
                training.Optimizer.Step(adam);
                NativeSetup.AfterStep();
            });
            steps.Add((fb, optim, loss));
            context.Log($"step {i}: forward_backward {Stats.Seconds(fb)} + optim {Stats.Seconds(optim)}, loss:sum {loss:0.0}, RSS {(ProcessMemory.ResidentBytes() ?? 0) / 1e9:0.00} GB");
        }

        string cpuDuringSteps = cpu.Describe();
        long peakRss = ProcessMemory.PeakResidentBytes() ?? 0;
        var measured = steps[^1];
        double stepSeconds = measured.Fb + measured.Optim;
        int tokens = batch * sequence;
        double flops = TrainingFlops.PerStep(config, adapter.ParameterCount, batch, sequence);
        double mfu = flops / stepSeconds / peak;
        context.Log($"measured step: {tokens / stepSeconds:0.0} tokens/s, {flops / 1e12:0.00} TFLOP (checkpoint recomputation not counted) "
            + $"-> {flops / stepSeconds / 1e9:0.0} GFLOP/s = mfu {mfu:0.000}; {cpuDuringSteps}");
        context.Log($"peak RSS {peakRss / 1e9:0.00} GB{(resetPeak ? " (since the load)" : " (whole process: VmHWM could not be reset)")}");

        // Decode: batch 1, greedy, KV cache; the per-token rate from the difference of a short and a long run. The bandwidth
        // it is compared with is read just before each such pair (this host's bandwidth drifts by up to 2x over the minutes
        // the training steps take), and each side is the best of its three runs.
        var prompt = RequestFactory.Prompt(16, config.VocabSize, seed: 5);
        int newTokens = context.Smoke ? 8 : 32;
        DecodeWorkload.DecodeWithCache(model, prompt, 2);
        double decodeRate = 0, bandwidth = 0;
        for (int run = 0; run < 3; run++)
        {
            bandwidth = Math.Max(bandwidth, MemoryBandwidth.MeasureRead(probeBytes, 2));
            double shortRun = Stats.Time(() => DecodeWorkload.DecodeWithCache(model, prompt, 1));
            double longRun = Stats.Time(() => DecodeWorkload.DecodeWithCache(model, prompt, 1 + newTokens));
            decodeRate = Math.Max(decodeRate, newTokens / Math.Max(1e-9, longRun - shortRun));
        }
        double bytesPerToken = TrainingFlops.BaseMatmulParameters(config) * (double)sizeof(float);
        double bound = bandwidth / bytesPerToken;
        context.Log($"decode: {decodeRate:0.00} tokens/s; reading {bytesPerToken / 1e9:0.00} GB of fp32 matmul weights per token at {bandwidth / 1e9:0.0} GB/s "
            + $"bounds it at {bound:0.00} tokens/s");

        return Task.FromResult<IReadOnlyList<(string, double)>>(
        [
            ("scale_train_tokens_per_s", tokens / stepSeconds),
            ("scale_train_mfu", mfu),
            ("scale_peak_rss_gb", peakRss / 1e9),
            ("scale_decode_vs_bandwidth", decodeRate / bound),
        ]);
    }

    private static (int, int)? ParseBatch(string? value)
    {
        var parts = value?.Split('x', StringSplitOptions.TrimEntries);
        return parts is [var b, var t] && int.TryParse(b, out int rows) && int.TryParse(t, out int length) && rows > 0 && length > 0
            ? (rows, length)
            : null;
    }
}
