using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using TinkerFlow.Benchmarks.Engine;
using TinkerFlow.Local.Engine;
using TorchSharp;

namespace TinkerFlow.Benchmarks.Quick;

/// <summary>
/// <c>--quick</c> mode: discovers every <see cref="IQuickFigure"/>, runs them in order and prints one
/// <c>ratio &lt;name&gt; &lt;value&gt;</c> line per result (invariant culture) between human-readable context lines.
/// </summary>
/// <remarks>
/// Options: <c>--smoke</c> (toy sizes, seconds), <c>--figure NAME[,NAME]</c> (repeatable; only those figures),
/// <c>--threads N</c> (torch.set_num_threads before anything runs; smoke mode defaults to 1, full mode keeps libtorch's
/// default, one per core), <c>--list</c> (print the figure names).
/// Exit code 0 when every figure ran, 1 when one threw, 2 for bad arguments.
/// </remarks>
internal static class QuickRunner
{
    /// <summary>The prefix of a result line; context lines never start with it.</summary>
    public const string ResultPrefix = "ratio ";

    /// <summary>Runs quick mode with the program's arguments.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

        bool smoke = args.Contains("--smoke");
        var selected = new HashSet<string>(StringComparer.Ordinal);
        int? threads = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--figure" && i + 1 < args.Length)
            {
                selected.UnionWith(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
            else if (args[i] == "--threads" && i + 1 < args.Length && int.TryParse(args[++i], CultureInfo.InvariantCulture, out int n) && n > 0)
            {
                threads = n;
            }
        }

        var figures = Discover();
        if (args.Contains("--list"))
        {
            foreach (var figure in figures)
            {
                output.WriteLine(figure.Name);
            }

            return 0;
        }

        var unknown = selected.Except(figures.Select(f => f.Name)).ToList();
        if (unknown.Count > 0)
        {
            output.WriteLine($"unknown figure(s): {string.Join(", ", unknown)}; known: {string.Join(", ", figures.Select(f => f.Name))}");
            return 2;
        }

        if (selected.Count > 0)
        {
            figures = [.. figures.Where(f => selected.Contains(f.Name))];
        }

        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };

        var clock = Stopwatch.StartNew();
        NativeSetup.EnsureInitialized();
        // Smoke sizes are all tiny ops, which a second intra-op thread only slows down (and on a loaded machine a
        // parallel region waits for a descheduled thread): one thread keeps the harness check fast and steady.
        threads ??= smoke ? 1 : null;
        if (threads is int t)
        {
            torch.set_num_threads(t);
        }

        WriteHeader(output, smoke);
        int failed = 0;
        foreach (var figure in figures)
        {
            var context = new QuickContext(figure.Name, smoke, output, cancellation.Token);
            var started = Stopwatch.StartNew();
            try
            {
                var results = await figure.MeasureAsync(context).ConfigureAwait(false);
                foreach (var (name, value) in results)
                {
                    output.WriteLine(ResultPrefix + name + " " + Format(value));
                }

                context.Log($"done in {started.Elapsed.TotalSeconds:0.0} s");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failed++;
                context.Log($"FAILED after {started.Elapsed.TotalSeconds:0.0} s: {ex.GetType().Name}: {ex.Message}");
                output.WriteLine(ex.ToString().Replace("\n", "\n    ", StringComparison.Ordinal).Insert(0, "    "));
            }
        }

        output.WriteLine($"quick mode{(smoke ? " (smoke)" : "")} finished in {clock.Elapsed.TotalSeconds:0.0} s: {figures.Count - failed} figure(s) ok, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>Every figure in this assembly, in run order.</summary>
    public static IReadOnlyList<IQuickFigure> Discover() =>
        [.. typeof(QuickRunner).Assembly.GetTypes()
            .Where(t => typeof(IQuickFigure).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false }
                && t.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes) is not null)
            .Select(t => (IQuickFigure)Activator.CreateInstance(t, nonPublic: true)!)
            .OrderBy(f => f.Order)
            .ThenBy(f => f.Name, StringComparer.Ordinal)];

    /// <summary>A result value in the invariant culture, up to 4 decimals.</summary>
    public static string Format(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);

    private static void WriteHeader(TextWriter output, bool smoke)
    {
#if DEBUG
        const string build = "Debug (numbers are not representative: use -c Release)";
#else
        const string build = "Release";
#endif
        string preload = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "";
        string allocator = preload.Contains("tcmalloc", StringComparison.Ordinal) ? "tcmalloc (LD_PRELOAD)"
            : preload.Contains("jemalloc", StringComparison.Ordinal) ? "jemalloc (LD_PRELOAD)"
            : "glibc malloc (engine trims the heap every 8 steps)";
        output.WriteLine($"TinkerFlow quick benchmarks{(smoke ? " [smoke: toy sizes, numbers meaningless]" : "")}: build {build}, "
            + $"torch threads {torch.get_num_threads()}, {Environment.ProcessorCount} logical CPUs, load average {LoadAverage.All()}, allocator {allocator}, "
            + $".NET {Environment.Version}");
        if (LoadAverage.OneMinuteValue() is double load && load > Environment.ProcessorCount && torch.get_num_threads() > 1)
        {
            output.WriteLine($"warning: the machine is oversubscribed (load {load:0.0} on {Environment.ProcessorCount} CPUs). Figures will be pessimistic and noisy: "
                + $"with {torch.get_num_threads()} intra-op threads every OpenMP parallel region waits for a descheduled peer thread "
                + "(small ops suffer most). Compare with --threads 1, and see each figure's 'process used N cores' line.");
        }
    }

}
