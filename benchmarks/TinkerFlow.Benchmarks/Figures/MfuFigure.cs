using TinkerFlow.Benchmarks.Engine;
using TinkerFlow.Benchmarks.Quick;

namespace TinkerFlow.Benchmarks.Figures;

/// <summary>
/// <c>ratio mfu</c>: achieved FLOP/s of LoRA forward_backward + AdamW (median step after warm-up, FLOPs per
/// <see cref="TrainingFlops"/>) divided by the measured float32 GEMM peak (best torch.mm n×n, same thread count).
/// Target ≥ 0.5.
/// </summary>
internal sealed class MfuFigure : IQuickFigure
{
    private const double Target = 0.5;

    public string Name => "mfu";

    public int Order => 10;

    public Task<IReadOnlyList<(string Name, double Value)>> MeasureAsync(QuickContext context)
    {
        var sizes = context.Sizes;
        var config = sizes.Model;

        double peak = GemmPeak.Measure(sizes.GemmSize, sizes.GemmRuns, out double gemmSeconds);
        context.Log($"GEMM peak (torch.mm {sizes.GemmSize}x{sizes.GemmSize} fp32, best of {sizes.GemmRuns}): {peak / 1e9:0.0} GFLOP/s ({Stats.Seconds(gemmSeconds)})");

        using var engine = BenchEngine.Create(sizes);
        var work = new TrainingWorkload(engine);
        context.Log($"model: {sizes.DescribeModel()}; batch {sizes.TrainBatch}x{sizes.TrainSequence} = {work.TokensPerStep} tokens/step; "
            + $"LoRA r{sizes.LoraRank} on q,k,v,o,gate,up,down (base frozen)");

        for (int i = 0; i < sizes.WarmupSteps; i++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            work.Step();
        }

        double firstLoss = work.LastLoss;
        var cpu = CpuShare.Start();
        var totals = new List<double>();
        var forwardBackward = new List<double>();
        var optim = new List<double>();
        for (int i = 0; i < sizes.MeasuredSteps; i++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var (fb, opt) = work.Step();
            forwardBackward.Add(fb);
            optim.Add(opt);
            totals.Add(fb + opt);
        }

        string cpuDuringSteps = cpu.Describe();

        // The peak is the best of runs before and after the training steps, so a burst of load from other processes
        // during the first measurement does not inflate the ratio.
        double peakBefore = peak;
        double peakAfter = GemmPeak.Measure(sizes.GemmSize, sizes.GemmRuns, out _);
        peak = Math.Max(peakBefore, peakAfter);

        double step = Stats.Median(totals);
        long baseParams = TrainingFlops.BaseMatmulParameters(config);
        long loraParams = engine.Adapter.ParameterCount;
        double flops = TrainingFlops.PerStep(config, loraParams, sizes.TrainBatch, sizes.TrainSequence);
        double achieved = flops / step;
        double mfu = achieved / peak;

        context.Log($"step times (fb+adam): {string.Join(", ", totals.Select(Stats.Seconds))}; median {Stats.Seconds(step)} "
            + $"= forward_backward {Stats.Seconds(Stats.Median(forwardBackward))} + optim_step {Stats.Seconds(Stats.Median(optim))}");
        context.Log($"during the measured steps the {cpuDuringSteps}; best step {Stats.Seconds(totals.Min())} would give mfu {flops / totals.Min() / peak:0.000}");
        context.Log($"throughput: {work.TokensPerStep / step:0} tokens/s (fb+adam), {work.TokensPerStep / Stats.Median(forwardBackward):0} tokens/s (forward_backward alone); "
            + $"loss:sum {firstLoss:0.0} -> {work.LastLoss:0.0}");
        context.Log($"{TrainingFlops.Formula}; N_base {baseParams / 1e6:0.00}M (matmul weights, embedding excluded), "
            + $"N_lora {loraParams / 1e6:0.000}M, L {config.NumHiddenLayers}, H {config.NumAttentionHeads}, D {config.HeadDim}, T {sizes.TrainSequence}, B {sizes.TrainBatch}");
        context.Log($"{flops / 1e9:0.0} GFLOP/step / {Stats.Seconds(step)} = {achieved / 1e9:0.0} GFLOP/s; peak {peak / 1e9:0.0} GFLOP/s "
            + $"(best of the runs before, {peakBefore / 1e9:0.0}, and after, {peakAfter / 1e9:0.0}); mfu = {mfu:0.000} (target >= {Target})");

        if (mfu < Target && !context.Smoke)
        {
            ExplainMiss(context, sizes, peak, step, Stats.Median(optim));
        }

        return Task.FromResult<IReadOnlyList<(string, double)>>([("mfu", mfu)]);
    }

    // Context for a missed target: how fast the step's own GEMM shapes run, and how much of the step is not GEMM work.
    private static void ExplainMiss(QuickContext context, BenchSizes sizes, double peak, double step, double optim)
    {
        var c = sizes.Model;
        int tokens = sizes.TrainBatch * sizes.TrainSequence;
        double mlp = GemmPeak.MeasureShape(tokens, c.HiddenSize, c.IntermediateSize, 3);
        double qkv = GemmPeak.MeasureShape(tokens, c.HiddenSize, c.NumAttentionHeads * c.HeadDim, 3);
        double head = GemmPeak.MeasureShape(tokens, c.HiddenSize, c.VocabSize, 3);
        context.Log($"below target. The step's own GEMM shapes reach only: [{tokens}x{c.HiddenSize}]x[{c.HiddenSize}x{c.IntermediateSize}] {mlp / 1e9:0.0}, "
            + $"q/o {qkv / 1e9:0.0}, lm_head {head / 1e9:0.0} GFLOP/s (= {mlp / peak:0.00}/{qkv / peak:0.00}/{head / peak:0.00} of the peak); "
            + $"optim_step is {optim / step:P0} of the step; the rest is non-GEMM work (log_softmax over the vocabulary, RMSNorm, RoPE, SiLU, "
            + "LoRA adds, attention softmax); on a loaded machine each of the step's thousands of OpenMP parallel regions can also wait "
            + "for a descheduled peer thread (see 'process used N cores' above; compare --threads 1)");
    }
}
