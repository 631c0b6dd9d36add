using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TinkerFlow.Diagnostics;

/// <summary>The client's instruments on <see cref="TinkerFlowTelemetry.Meter"/>.</summary>
internal static class ClientInstruments
{
    public static readonly Counter<long> Tokens = TinkerFlowTelemetry.Meter.CreateCounter<long>(
        TinkerFlowTelemetry.TokensInstrument, "{token}", "Tokens processed by completed client operations.");

    public static readonly Histogram<double> OperationDuration = TinkerFlowTelemetry.Meter.CreateHistogram<double>(
        TinkerFlowTelemetry.OperationDurationInstrument, "s", "Round trip of a client operation, from the call to its result.");

    public static readonly Histogram<double> QueueWait = TinkerFlowTelemetry.Meter.CreateHistogram<double>(
        TinkerFlowTelemetry.QueueWaitInstrument, "s", "Time a request waited in the backend's queue before it started.");

    public static readonly Counter<long> Retries = TinkerFlowTelemetry.Meter.CreateCounter<long>(
        TinkerFlowTelemetry.RetriesInstrument, "{retry}", "Retries of HTTP requests, calls, polls and samples.");

    public static void Retry(string layer, string operation) =>
        Retries.Add(1, new KeyValuePair<string, object?>(TinkerFlowTelemetry.RetryLayerTag, layer), new KeyValuePair<string, object?>(TinkerFlowTelemetry.OperationTag, operation));
}
