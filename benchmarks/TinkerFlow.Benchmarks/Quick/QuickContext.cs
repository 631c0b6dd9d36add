using TinkerFlow.Benchmarks.Engine;

namespace TinkerFlow.Benchmarks.Quick;

/// <summary>What a <see cref="IQuickFigure"/> gets: the sizes to use and a writer for context lines.</summary>
internal sealed class QuickContext
{
    private readonly TextWriter _output;
    private readonly string _prefix;

    /// <summary>Creates the context of one figure.</summary>
    public QuickContext(string figureName, bool smoke, TextWriter output, CancellationToken cancellationToken)
    {
        _prefix = $"[{figureName}] ";
        _output = output;
        Smoke = smoke;
        Sizes = smoke ? BenchSizes.Smoke : BenchSizes.Full;
        CancellationToken = cancellationToken;
    }

    /// <summary>True for <c>--smoke</c>: toy sizes, the numbers only prove that the harness works.</summary>
    public bool Smoke { get; }

    /// <summary>The engine sizes for this run (full or smoke).</summary>
    public BenchSizes Sizes { get; }

    /// <summary>Cancelled on Ctrl+C.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// Writes a human-readable context line, prefixed with the figure's name in brackets (so it never starts with
    /// "ratio "). The quick runner sets the invariant culture for the whole process, so interpolated numbers use '.'.
    /// </summary>
    public void Log(string line) => _output.WriteLine(_prefix + line);
}
