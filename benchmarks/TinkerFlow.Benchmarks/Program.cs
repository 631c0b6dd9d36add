using BenchmarkDotNet.Running;
using TinkerFlow.Benchmarks.Quick;

// Full runs: BenchmarkDotNet over the suites (e.g. `-- --filter '*Serialization*'`, `-- --list flat`).
// Quick mode: `-- --quick [--smoke] [--figure NAME] [--threads N]` prints `ratio <name> <value>` lines (see QuickRunner).
if (args.Contains("--report"))
{
    // Writes BENCHMARKS.md and the learning-curve PNGs from a quick run's output and the recipes' reference runs.
    return TinkerFlow.Benchmarks.Report.BenchmarkReport.Run(args);
}

if (args.Contains("--quick"))
{
    return await QuickRunner.RunAsync(args, Console.Out);
}

BenchmarkSwitcher.FromAssembly(typeof(QuickRunner).Assembly).Run(args);
return 0;
