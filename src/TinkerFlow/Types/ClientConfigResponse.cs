using System.Text.Json.Serialization;

namespace TinkerFlow.Types;

/// <summary>
/// Result of <c>POST /api/v1/client/config</c>: a flat object of feature flags (wire spec §2.2). Missing keys keep the
/// SDK defaults below; unknown keys are ignored. All flags are always written.
/// </summary>
public sealed record ClientConfigResponse
{
    /// <summary>Creates a response holding the SDK defaults; set properties to override.</summary>
    public ClientConfigResponse()
    {
    }

    // System.Text.Json source generation resets init-only properties that are missing from the JSON to default(T)
    // (dotnet/runtime#84484); deserialisation goes through this constructor so missing flags keep the SDK defaults.
    [JsonConstructor]
    internal ClientConfigResponse(
        string? credentialDefaultSource = "api_key",
        long sampleDispatchBytesSemaphoreSize = 10_485_760,
        long inflightResponseBytesSemaphoreSize = 52_428_800,
        bool parallelFwdbwdChunks = true,
        int billingExceptionMaxPauseDurationSec = 3600,
        bool usePyqwestTransport = true,
        bool sampleEnableStuckDetection = true,
        int sampleMaxConcurrentRequests = 2000,
        int fwdbwdMaxChunkLen = 1024,
        long fwdbwdMaxChunkBytesCount = 5_000_000,
        long fwdbwdDispatchBytesSemaphoreSize = 50_000_000)
    {
        CredentialDefaultSource = credentialDefaultSource ?? "api_key";
        SampleDispatchBytesSemaphoreSize = sampleDispatchBytesSemaphoreSize;
        InflightResponseBytesSemaphoreSize = inflightResponseBytesSemaphoreSize;
        ParallelFwdbwdChunks = parallelFwdbwdChunks;
        BillingExceptionMaxPauseDurationSec = billingExceptionMaxPauseDurationSec;
        UsePyqwestTransport = usePyqwestTransport;
        SampleEnableStuckDetection = sampleEnableStuckDetection;
        SampleMaxConcurrentRequests = sampleMaxConcurrentRequests;
        FwdbwdMaxChunkLen = fwdbwdMaxChunkLen;
        FwdbwdMaxChunkBytesCount = fwdbwdMaxChunkBytesCount;
        FwdbwdDispatchBytesSemaphoreSize = fwdbwdDispatchBytesSemaphoreSize;
    }
    /// <summary>Exchange the credential for a JWT at <c>/api/v1/auth/token</c> (<c>pjwt_auth_enabled</c>), default false.</summary>
    public bool PjwtAuthEnabled { get; init; }

    /// <summary>Where the credential comes from in JWT mode (<c>credential_default_source</c>): <c>"api_key"</c> (default) or <c>"credential_cmd"</c>.</summary>
    public string CredentialDefaultSource { get; init; } = "api_key";

    /// <summary>Budget of estimated prompt bytes in flight for asample (<c>sample_dispatch_bytes_semaphore_size</c>), default 10 MiB.</summary>
    public long SampleDispatchBytesSemaphoreSize { get; init; } = 10_485_760;

    /// <summary>Budget for metadata-only retrieves (<c>inflight_response_bytes_semaphore_size</c>), default 50 MiB.</summary>
    public long InflightResponseBytesSemaphoreSize { get; init; } = 52_428_800;

    /// <summary>Submit all chunks of one forward_backward concurrently (<c>parallel_fwdbwd_chunks</c>); default true (SDK ≥0.20).</summary>
    public bool ParallelFwdbwdChunks { get; init; } = true;

    /// <summary>Send forward_backward bodies as protobuf (<c>proto_write_fwdbwd</c>), default false.</summary>
    public bool ProtoWriteFwdbwd { get; init; }

    /// <summary>How long HTTP 402 means "pause and retry" (<c>billing_exception_max_pause_duration_sec</c>), default 3600.</summary>
    public int BillingExceptionMaxPauseDurationSec { get; init; } = 3600;

    /// <summary>Disable the sampling retry handler (<c>sample_no_retries</c>), default false.</summary>
    public bool SampleNoRetries { get; init; }

    /// <summary>Use the Python SDK's Rust HTTP transport (<c>use_pyqwest_transport</c>), default true; a local server sends false.</summary>
    public bool UsePyqwestTransport { get; init; } = true;

    /// <summary>zstd-compress protobuf forward_backward bodies (<c>proto_compress_fwdbwd</c>), default false.</summary>
    public bool ProtoCompressFwdbwd { get; init; }

    /// <summary>Send forward as forward_backward with <c>forward_only</c> (<c>fwd_via_fwdbwd</c>), default false.</summary>
    public bool FwdViaFwdbwd { get; init; }

    /// <summary>Sampling progress watchdog (<c>sample_enable_stuck_detection</c>), default true.</summary>
    public bool SampleEnableStuckDetection { get; init; } = true;

    /// <summary>Sampling retry-handler concurrency (<c>sample_max_concurrent_requests</c>), default 2000.</summary>
    public int SampleMaxConcurrentRequests { get; init; } = 2000;

    /// <summary>Create training clients from state with one load_weights (<c>create_model_via_load_weights</c>), default false.</summary>
    public bool CreateModelViaLoadWeights { get; init; }

    /// <summary>Max datums per forward_backward request (<c>fwdbwd_max_chunk_len</c>), default 1024.</summary>
    public int FwdbwdMaxChunkLen { get; init; } = 1024;

    /// <summary>Max estimated bytes per forward_backward request (<c>fwdbwd_max_chunk_bytes_count</c>), default 5,000,000.</summary>
    public long FwdbwdMaxChunkBytesCount { get; init; } = 5_000_000;

    /// <summary>Estimated fwd/bwd bytes dispatched concurrently (<c>fwdbwd_dispatch_bytes_semaphore_size</c>), default 50,000,000.</summary>
    public long FwdbwdDispatchBytesSemaphoreSize { get; init; } = 50_000_000;
}
