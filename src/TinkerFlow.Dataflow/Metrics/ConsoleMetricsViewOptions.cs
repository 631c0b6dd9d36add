using System.Reactive.Concurrency;
using Spectre.Console;

namespace TinkerFlow.Dataflow;

/// <summary>Settings of a <see cref="ConsoleMetricsView"/>.</summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="Title"/></term><description>"training"</description></item>
/// <item><term><see cref="TotalSteps"/></term><description>null (no bar or ETA; a step counter instead)</description></item>
/// <item><term><see cref="ShownMetrics"/></term><description>null = every metric except <c>progress/*</c>, sorted, at most 12</description></item>
/// <item><term><see cref="Interactive"/></term><description>null = live view when stdout is a terminal, plain lines otherwise</description></item>
/// <item><term><see cref="RefreshInterval"/></term><description>250 ms (live view)</description></item>
/// <item><term><see cref="PlainLineInterval"/></term><description>zero = one line per record (plain mode)</description></item>
/// <item><term><see cref="Console"/></term><description><see cref="AnsiConsole.Console"/></description></item>
/// <item><term><see cref="PlainOutput"/></term><description><see cref="System.Console.Out"/></description></item>
/// <item><term><see cref="Scheduler"/></term><description><see cref="DefaultScheduler.Instance"/></description></item>
/// </list>
/// </remarks>
public sealed record ConsoleMetricsViewOptions
{
    /// <summary>Shown at the top of the view and at the start of each plain line.</summary>
    public string Title { get; init; } = "training";

    /// <summary>The planned number of steps, for the progress bar and the ETA.</summary>
    public int? TotalSteps { get; init; }

    /// <summary>The metrics to show, in order; null shows all but <c>progress/*</c> (up to 12).</summary>
    public IReadOnlyList<string>? ShownMetrics { get; init; }

    /// <summary>True forces the live view, false forces plain lines; null detects (stdout redirected or not interactive → plain).</summary>
    public bool? Interactive { get; init; }

    /// <summary>How often the live view redraws (on <see cref="Scheduler"/>).</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>In plain mode, at most one line per this interval (on <see cref="Scheduler"/>); the last record is always printed.</summary>
    public TimeSpan PlainLineInterval { get; init; } = TimeSpan.Zero;

    /// <summary>The console for the live view.</summary>
    public IAnsiConsole? Console { get; init; }

    /// <summary>Where plain lines go.</summary>
    public TextWriter? PlainOutput { get; init; }

    /// <summary>The clock for refreshes, throttling and the ETA.</summary>
    public IScheduler Scheduler { get; init; } = DefaultScheduler.Instance;
}
