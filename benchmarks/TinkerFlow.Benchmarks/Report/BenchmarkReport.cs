using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TinkerFlow.Benchmarks.Report;

/// <summary>
/// Writes BENCHMARKS.md from the output of one quick-mode run and the metrics.jsonl of each recipe's reference run
/// (scripts/benchmarks.sh produces both), plus one PNG learning curve per recipe metric. Every number in the file
/// comes from those inputs.
/// </summary>
internal static class BenchmarkReport
{
    private static readonly (string Name, string Target, Func<double, bool>? Met, string What)[] Figures =
    [
        ("mfu", "≥ 0.5", v => v >= 0.5, "forward_backward + AdamW FLOP/s ÷ measured fp32 GEMM peak (LoRA r16, d512 × 4 layers, batch 8×256)"),
        ("kv_cache_speedup", "≥ 10", v => v >= 10, "decode 256 tokens with the KV cache vs re-running the forward per token"),
        ("batched_sampling_speedup", "≥ 6", v => v >= 6, "num_samples=16 as one batch vs 16 sequential samples"),
        ("concurrent_vs_batched", "≤ 1.3", v => v <= 1.3, "32 concurrent num_samples=1 SamplingClient requests vs one num_samples=32 (continuous batching)"),
        ("multi_adapter_vs_single", "≤ 1.5", v => v <= 1.5, "the 32 concurrent requests over 8 LoRA adapters vs over 1"),
        ("pipeline_speedup", "≥ 1.8", v => v >= 1.8, "pipelined (submit-ahead) vs sequential training loop, step time S = RTT"),
        ("pipeline_vs_ideal", "≥ 0.95", v => v >= 0.95, "pipelined steps/s ÷ backend-bound ideal"),
        ("longpoll_p99_overhead_ms", "< 50", v => v < 50, "p99 latency the server adds to 1,000 concurrent long-polled futures"),
        ("scale_train_tokens_per_s", "figure", null, "LoRA r32 forward_backward + AdamW tokens/s on Qwen3-0.6B shapes, batch 8×512"),
        ("scale_train_mfu", "≥ 0.5", v => v >= 0.5, "that step's FLOP/s ÷ measured fp32 GEMM peak (checkpoint recomputation not counted)"),
        ("scale_peak_rss_gb", "≤ 8", v => v <= 8, "peak resident memory from loading the 0.6B model through the 8×512 steps"),
        ("scale_decode_vs_bandwidth", "≥ 0.7", v => v >= 0.7, "batch-1 decode tokens/s ÷ (read bandwidth ÷ fp32 weight bytes per token)"),
        ("bf16_upcast_train_speed", "figure", null, "fp32-storage ÷ bf16-storage (upcast per use) time of a training GEMM; > 1 favours bf16"),
        ("bf16_upcast_decode_speed", "figure", null, "the same for a decode pass over 0.6B's MLP weights"),
        ("peak_memory_gb", "figure", null, "peak resident memory of the quick run (VmHWM)"),
    ];

    private static readonly Dictionary<string, string[]> CurveMetrics = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sft"] = ["test/nll", "train_mean_nll", "test/bpb"],
        ["slloop"] = ["test/nll", "train_mean_nll"],
        ["mathrl"] = ["test/env/all/correct", "env/all/reward/total", "optim/kl_sample_train_v1"],
        ["rlloop"] = ["env/all/reward/total", "reward"],
        ["dpo"] = ["test/accuracy", "accuracy", "dpo_loss", "margin"],
        ["distill"] = ["teacher_kl"],
    };

    public static int Run(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        var quickPath = Arg("--quick-output", "artifacts/benchmarks/quick.txt");
        var runsDir = Arg("--runs", "artifacts/benchmarks/runs");
        var outPath = Arg("--out", "BENCHMARKS.md");
        var plotsDir = Arg("--plots", "docs/plots");
        Directory.CreateDirectory(plotsDir);

        var quickLines = File.ReadAllLines(quickPath);
        var ratios = quickLines
            .Where(l => l.StartsWith("ratio ", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 3)
            .GroupBy(p => p[1])
            .ToDictionary(g => g.Key, g => double.Parse(g.Last()[2], CultureInfo.InvariantCulture));

        var md = new StringBuilder();
        md.AppendLine("# TinkerFlow benchmarks");
        md.AppendLine();
        md.AppendLine("Regenerate everything in this file (numbers and plots) with one command:");
        md.AppendLine();
        md.AppendLine("```bash");
        md.AppendLine("bash scripts/benchmarks.sh");
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine($"It runs `dotnet run -c Release --project benchmarks/TinkerFlow.Benchmarks -- --quick` (output kept in `{quickPath}`), then each recipe's reference run, then this report. Machine: {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd} (UTC). Figures are ratios so that they compare across machines; on a shared machine they swing by ±30%.");
        md.AppendLine();
        md.AppendLine("| Figure | Value | Target | Met | What it measures |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var (name, target, met, what) in Figures)
        {
            var value = ratios.TryGetValue(name, out var v) ? v.ToString("0.###", CultureInfo.InvariantCulture) : "not measured";
            var ok = met is null || !ratios.ContainsKey(name) ? "–" : met(ratios[name]) ? "yes" : "**no**";
            md.AppendLine($"| `{name}` | {value} | {target} | {ok} | {what} |");
        }

        foreach (var (name, value) in ratios.Where(r => Figures.All(f => f.Name != r.Key)).OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            md.AppendLine($"| `{name}` | {value.ToString("0.###", CultureInfo.InvariantCulture)} | figure | – | see the quick-mode context lines |");
        }

        md.AppendLine();
        md.AppendLine("Context lines printed by the quick run:");
        md.AppendLine();
        md.AppendLine("```");
        foreach (var line in quickLines.Where(l => l.StartsWith('[')))
        {
            md.AppendLine(line);
        }

        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("## Learning curves of the recipes' reference runs");
        md.AppendLine();
        if (Directory.Exists(runsDir))
        {
            foreach (var runDir in Directory.EnumerateDirectories(runsDir).Order(StringComparer.Ordinal))
            {
                var metricsFile = Path.Combine(runDir, "metrics.jsonl");
                if (!File.Exists(metricsFile))
                {
                    continue;
                }

                var recipe = Path.GetFileName(runDir);
                var rows = ReadRows(metricsFile);
                md.AppendLine($"### {recipe}");
                md.AppendLine();
                md.AppendLine($"`dotnet run -c Release --project recipes/{recipe} -- --log-path {runDir.Replace('\\', '/')}` — {rows.Count} steps.");
                md.AppendLine();
                var wanted = CurveMetrics.TryGetValue(recipe, out var list) ? list : rows.SelectMany(r => r.Keys).Where(k => k != "step").Distinct().Take(3).ToArray();
                foreach (var metric in wanted)
                {
                    var points = rows.Where(r => r.ContainsKey(metric)).Select(r => (Step: r.GetValueOrDefault("step"), Value: r[metric])).ToList();
                    if (points.Count == 0)
                    {
                        continue;
                    }

                    var file = $"{recipe}_{metric.Replace('/', '_').Replace(':', '_')}.png";
                    Plot(Path.Combine(plotsDir, file), $"{recipe}: {metric}", metric, points);
                    var first = points[0].Value.ToString("0.####", CultureInfo.InvariantCulture);
                    var last = points[^1].Value.ToString("0.####", CultureInfo.InvariantCulture);
                    md.AppendLine($"- `{metric}`: {first} → {last} (step {points[0].Step:0} → {points[^1].Step:0}) — ![{recipe} {metric}]({Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(outPath))!, Path.Combine(plotsDir, file)).Replace('\\', '/')})");
                }

                md.AppendLine();
            }
        }

        File.WriteAllText(outPath, md.ToString());
        Console.WriteLine($"wrote {outPath} ({ratios.Count} figures) and plots in {plotsDir}");
        return 0;
    }

    private static List<Dictionary<string, double>> ReadRows(string path) =>
        File.ReadLines(path)
            .Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(l)!)
            .Select(d => d.Where(kv => kv.Value.ValueKind == JsonValueKind.Number).ToDictionary(kv => kv.Key, kv => kv.Value.GetDouble()))
            .ToList();

    private static void Plot(string path, string title, string metric, List<(double Step, double Value)> points)
    {
        var plot = new ScottPlot.Plot();
        var scatter = plot.Add.Scatter(points.Select(p => p.Step).ToArray(), points.Select(p => p.Value).ToArray());
        scatter.LegendText = metric;
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel(metric);
        plot.SavePng(path, 800, 450);
    }
}
