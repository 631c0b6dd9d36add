using Microsoft.Extensions.Logging;

namespace TinkerFlow;

/// <summary>
/// Options of a <see cref="ServiceClient"/> and the clients it creates. They freeze once a client is built.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="Backend"/></term><description>null: a remote service if <see cref="BaseUrl"/> (or <c>TINKER_BASE_URL</c>) is set, else the embedded engine (TinkerFlow.Local)</description></item>
/// <item><term><see cref="BaseUrl"/></term><description><c>TINKER_BASE_URL</c>, else null</description></item>
/// <item><term><see cref="ApiKey"/></term><description><c>TINKER_API_KEY</c></description></item>
/// <item><term><see cref="Retry"/></term><description>see <see cref="RetryOptions"/></description></item>
/// <item><term><see cref="NetworkTimeout"/></term><description>60 s per HTTP call</description></item>
/// <item><term><see cref="ChunkMaxDatums"/></term><description>1024 datums per forward/forward_backward request</description></item>
/// <item><term><see cref="ChunkMaxBytes"/></term><description>5,000,000 estimated bytes per request</description></item>
/// <item><term><see cref="HeartbeatInterval"/></term><description>10 s</description></item>
/// <item><term><see cref="Tags"/></term><description><c>TINKER_TAGS</c> (comma-separated), else none</description></item>
/// <item><term><see cref="TimeProvider"/></term><description><see cref="System.TimeProvider.System"/></description></item>
/// <item><term><see cref="LoggerFactory"/></term><description>null: no logging</description></item>
/// <item><term><see cref="TokenizerResolver"/></term><description>null: remote backends look in <see cref="TokenizerDirectory"/>, then <see cref="HuggingFaceHubCache"/></description></item>
/// <item><term><see cref="TokenizerDirectory"/></term><description><c>TINKERFLOW_TOKENIZERS</c>, else null</description></item>
/// <item><term><see cref="HuggingFaceHubCache"/></term><description><c>HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c></description></item>
/// <item><term><see cref="HttpMessageHandler"/></term><description>null: a default handler (HTTP/2 where offered, gzip, no redirects)</description></item>
/// </list>
/// </remarks>
public sealed class TinkerClientOptions
{
    private TinkerBackend? _backend;
    private Uri? _baseUrl = ReadBaseUrlFromEnvironment();
    private string? _apiKey = NullIfEmpty(Environment.GetEnvironmentVariable("TINKER_API_KEY"));
    private TimeSpan _networkTimeout = TimeSpan.FromSeconds(60);
    private int _chunkMaxDatums = 1024;
    private long _chunkMaxBytes = 5_000_000;
    private TimeSpan _heartbeatInterval = TimeSpan.FromSeconds(10);
    private IReadOnlyList<string> _tags = ReadTags();
    private string? _projectId = NullIfEmpty(Environment.GetEnvironmentVariable("TINKER_PROJECT_ID"));
    private TimeProvider _timeProvider = TimeProvider.System;
    private IReadOnlyDictionary<string, string>? _sessionMetadata;
    private ILoggerFactory? _loggerFactory;
    private Func<string, TinkerTokenizer>? _tokenizerResolver;
    private string? _tokenizerDirectory = NullIfEmpty(Environment.GetEnvironmentVariable("TINKERFLOW_TOKENIZERS"));
    private string? _huggingFaceHubCache = Tokenization.TokenizerLocator.DefaultHuggingFaceHubCache();
    private HttpMessageHandler? _httpMessageHandler;

    /// <summary>The backend to use; overrides <see cref="BaseUrl"/> and the embedded default.</summary>
    public TinkerBackend? Backend { get => _backend; set { ThrowIfFrozen(); _backend = value; } }

    /// <summary>Base URL of a Tinker-compatible service, e.g. <c>http://127.0.0.1:8000</c>.</summary>
    public Uri? BaseUrl { get => _baseUrl; set { ThrowIfFrozen(); _baseUrl = value; } }

    /// <summary>The API key sent as <c>X-API-Key</c> (starts with <c>tml-</c>).</summary>
    public string? ApiKey { get => _apiKey; set { ThrowIfFrozen(); _apiKey = value; } }

    /// <summary>Retry policy for remote calls.</summary>
    public RetryOptions Retry { get; private set; } = new();

    /// <summary>Timeout of one HTTP call.</summary>
    public TimeSpan NetworkTimeout
    {
        get => _networkTimeout;
        set { ThrowIfFrozen(); ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero); _networkTimeout = value; }
    }

    /// <summary>Most datums in one forward/forward_backward request; larger calls are split into chunks.</summary>
    public int ChunkMaxDatums
    {
        get => _chunkMaxDatums;
        set { ThrowIfFrozen(); ArgumentOutOfRangeException.ThrowIfLessThan(value, 1); _chunkMaxDatums = value; }
    }

    /// <summary>Most estimated bytes in one forward/forward_backward request (10 per token and per loss input element).</summary>
    public long ChunkMaxBytes
    {
        get => _chunkMaxBytes;
        set { ThrowIfFrozen(); ArgumentOutOfRangeException.ThrowIfLessThan(value, 1); _chunkMaxBytes = value; }
    }

    /// <summary>How often the session heartbeat is sent.</summary>
    public TimeSpan HeartbeatInterval
    {
        get => _heartbeatInterval;
        set { ThrowIfFrozen(); ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero); _heartbeatInterval = value; }
    }

    /// <summary>Tags recorded on the session.</summary>
    public IReadOnlyList<string> Tags { get => _tags; set { ThrowIfFrozen(); _tags = value ?? []; } }

    /// <summary>Project id recorded on the session (remote services only).</summary>
    public string? ProjectId { get => _projectId; set { ThrowIfFrozen(); _projectId = value; } }

    /// <summary>User metadata recorded on the session.</summary>
    public IReadOnlyDictionary<string, string>? SessionMetadata { get => _sessionMetadata; set { ThrowIfFrozen(); _sessionMetadata = value; } }

    /// <summary>Clock used for heartbeats and back-off (a fake one in tests).</summary>
    public TimeProvider TimeProvider { get => _timeProvider; set { ThrowIfFrozen(); _timeProvider = value ?? TimeProvider.System; } }

    /// <summary>Where warnings (e.g. paused server queues, billing pauses) and diagnostics are logged; null logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get => _loggerFactory; set { ThrowIfFrozen(); _loggerFactory = value; } }

    /// <summary>
    /// Returns the tokenizer of a base model (e.g. by loading its <c>tokenizer.json</c> from a local folder). Remote Tinker
    /// services have no tokenizer endpoint, so <c>GetTokenizerAsync</c> on an HTTP backend resolves tokenizers on this
    /// machine: with this function when it is set, else from <see cref="TokenizerDirectory"/> and then
    /// <see cref="HuggingFaceHubCache"/>. The embedded engine ignores it.
    /// </summary>
    public Func<string, TinkerTokenizer>? TokenizerResolver { get => _tokenizerResolver; set { ThrowIfFrozen(); _tokenizerResolver = value; } }

    /// <summary>
    /// A folder of tokenizers for remote models: the tokenizer of <c>Org/Name</c> is read from <c>&lt;folder&gt;/Org/Name/</c>
    /// (or <c>Org_Name</c>, <c>Org--Name</c>, <c>Name</c>), which holds <c>tokenizer.json</c> and optionally
    /// <c>tokenizer_config.json</c>. Looked at before <see cref="HuggingFaceHubCache"/>.
    /// </summary>
    public string? TokenizerDirectory { get => _tokenizerDirectory; set { ThrowIfFrozen(); _tokenizerDirectory = value; } }

    /// <summary>
    /// The Hugging Face hub cache, where the tokenizer of <c>Org/Name</c> is read from
    /// <c>models--Org--Name/snapshots/&lt;commit&gt;/tokenizer.json</c> (the commit of <c>refs/main</c>, else the newest);
    /// null to skip it.
    /// </summary>
    public string? HuggingFaceHubCache { get => _huggingFaceHubCache; set { ThrowIfFrozen(); _huggingFaceHubCache = value; } }

    /// <summary>
    /// The HTTP handler for calls to a remote service (e.g. an in-memory test server's handler, or one with a proxy);
    /// it must not follow redirects. The caller keeps ownership: it is not disposed with the client.
    /// </summary>
    public HttpMessageHandler? HttpMessageHandler { get => _httpMessageHandler; set { ThrowIfFrozen(); _httpMessageHandler = value; } }

    internal bool Frozen { get; private set; }

    internal void Freeze()
    {
        Frozen = true;
        Retry.Frozen = true;
    }

    /// <summary>Copies the options (unfrozen), e.g. to build a second client with one change.</summary>
    /// <returns>A new, unfrozen copy.</returns>
    public TinkerClientOptions Clone() => new()
    {
        _backend = _backend,
        _baseUrl = _baseUrl,
        _apiKey = _apiKey,
        Retry = Retry.Clone(),
        _networkTimeout = _networkTimeout,
        _chunkMaxDatums = _chunkMaxDatums,
        _chunkMaxBytes = _chunkMaxBytes,
        _heartbeatInterval = _heartbeatInterval,
        _tags = _tags,
        _projectId = _projectId,
        _timeProvider = _timeProvider,
        _sessionMetadata = _sessionMetadata,
        _loggerFactory = _loggerFactory,
        _tokenizerResolver = _tokenizerResolver,
        _tokenizerDirectory = _tokenizerDirectory,
        _huggingFaceHubCache = _huggingFaceHubCache,
        _httpMessageHandler = _httpMessageHandler,
    };

    private void ThrowIfFrozen()
    {
        if (Frozen)
        {
            throw new InvalidOperationException("These options belong to a client that has been built and can no longer change. Call Clone() and change the copy.");
        }
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static Uri? ReadBaseUrlFromEnvironment()
    {
        var value = NullIfEmpty(Environment.GetEnvironmentVariable("TINKER_BASE_URL"));
        return value is null ? null : new Uri(value, UriKind.Absolute);
    }

    private static IReadOnlyList<string> ReadTags()
    {
        var value = Environment.GetEnvironmentVariable("TINKER_TAGS");
        return string.IsNullOrWhiteSpace(value)
            ? []
            : value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
