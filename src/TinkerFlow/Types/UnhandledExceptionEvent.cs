namespace TinkerFlow.Types;

/// <summary>Telemetry <c>UNHANDLED_EXCEPTION</c> event.</summary>
public sealed record UnhandledExceptionEvent : TelemetryEvent
{
    /// <summary>The exception message (<c>error_message</c>).</summary>
    public required string ErrorMessage { get; init; }

    /// <summary>The exception type name (<c>error_type</c>).</summary>
    public required string ErrorType { get; init; }

    /// <summary>The stack trace (<c>traceback</c>).</summary>
    public string? Traceback { get; init; }
}
