namespace TinkerFlow.Server.Tests.Faults;

/// <summary>What <see cref="FaultInjectingHandler"/> does to one HTTP attempt.</summary>
internal enum FaultKind
{
    /// <summary>Passes the request through untouched.</summary>
    None,

    /// <summary>Fails with a connection error before anything is sent (the server never sees the request).</summary>
    FailBeforeSend,

    /// <summary>Lets the server process the request, then loses the answer (connection reset on the client side).</summary>
    DropAfterProcessing,

    /// <summary>Asks the server to process the request and then abort the TCP connection instead of answering.</summary>
    ServerAbort,

    /// <summary>Lets the server process the request, then holds the answer until the client's own timeout fires.</summary>
    DelayPastTimeout,

    /// <summary>Answers 429 with <c>Retry-After</c> without sending (a rate-limiting proxy).</summary>
    TooManyRequests,

    /// <summary>Lets the server process the request, then answers 503 with <c>retry-after-ms</c> (a failing proxy).</summary>
    ServiceUnavailable,
}
