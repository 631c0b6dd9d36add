namespace TinkerFlow.Benchmarks.Quick;

/// <summary>
/// One figure (or a few related ones) of <c>--quick</c> mode. Every non-abstract class in this assembly that implements
/// it and has a parameterless constructor is discovered by reflection and run in <see cref="Order"/> (then
/// <see cref="Name"/>) order; each returned pair is printed as <c>ratio &lt;name&gt; &lt;value&gt;</c>.
/// </summary>
/// <remarks>
/// To add a figure (pipeline_speedup, longpoll_p99_overhead_ms, serialization_…), add a class with a parameterless
/// constructor; write human-readable context through <see cref="QuickContext.Log"/> (never print a line starting with
/// "ratio " yourself), honour <see cref="QuickContext.Smoke"/> with toy sizes that finish in seconds, and throw on a
/// broken harness (the run then exits non-zero). Return the honest measured value even when it misses its target, and
/// log the likely reason.
/// </remarks>
internal interface IQuickFigure
{
    /// <summary>The figure's name (also what <c>--figure NAME</c> selects); usually the name of its single result.</summary>
    string Name { get; }

    /// <summary>Run order (lower first); figures that need a quiet process (memory peaks) go last.</summary>
    int Order => 100;

    /// <summary>Measures the figure; returns (name, value) pairs to print.</summary>
    Task<IReadOnlyList<(string Name, double Value)>> MeasureAsync(QuickContext context);
}
