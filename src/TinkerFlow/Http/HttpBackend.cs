using System.Net;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TinkerFlow.Types;

namespace TinkerFlow.Http;

/// <summary>
/// The backend for a remote Tinker-compatible service: the JSON wire of Python SDK 0.24.1 over
/// <see cref="HttpClient"/> (wire spec §1–§6, §10).
/// </summary>
/// <remarks>
/// <para>Start-up: <c>POST /api/v1/client/config</c> runs once, before the first other call. JWT mode
/// (<c>pjwt_auth_enabled</c>) is supported: the key is exchanged at <c>/api/v1/auth/token</c> and the JWT refreshed
/// before it expires. <c>proto_write_fwdbwd: true</c> is ignored: TinkerFlow emulates SDK 0.24.1, whose JSON
/// forward_backward requests every server still accepts, and never asks for protobuf results.</para>
/// <para>Retries: layer A (<see cref="RetryOptions.MaxRetries"/>, per HTTP request, same idempotency key), layer B
/// (<see cref="RetryOptions.TotalTimeout"/>, around whole calls) and the retrieve_future loop, as in wire spec §4.3 and §5.</para>
/// </remarks>
internal sealed partial class HttpBackend : TinkerBackend
{
    /// <summary>Timeout of one retrieve_future poll.</summary>
    public static readonly TimeSpan PollTimeout = TimeSpan.FromSeconds(45);

    /// <summary>Timeout of a session heartbeat.</summary>
    public static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(10);

    private readonly HttpClient _http;
    private readonly HttpClient? _downloadHttp;
    private readonly string _baseUrl;
    private readonly TinkerClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _apiKey;
    private readonly string _userAgent;
    private readonly CancellationTokenSource _disposed = new();
    private readonly SemaphoreSlim _configLock = new(1, 1);
    private readonly QueueStateWarnings _queueWarnings;
    private readonly SamplingBackpressure _sampling;
    private readonly BillingPause _billing;
    private ClientConfigResponse? _config;
    private JwtCredential? _jwt;

    /// <summary>Creates the backend.</summary>
    /// <param name="baseUrl">The service's base URL; paths are appended as <c>&lt;base&gt;/api/v1/…</c>.</param>
    /// <param name="options">Client options (frozen; an unfrozen instance is copied and frozen).</param>
    /// <param name="handler">The HTTP handler (tests pass a fake); null uses <see cref="TinkerClientOptions.HttpMessageHandler"/>,
    /// else creates one that does not follow redirects. A handler passed in is not disposed with the backend.</param>
    public HttpBackend(Uri baseUrl, TinkerClientOptions options, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(options);
        if (!baseUrl.IsAbsoluteUri || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The Tinker base URL must be an absolute http(s) URL, got '{baseUrl}'. Check TinkerClientOptions.BaseUrl or TINKER_BASE_URL.", nameof(baseUrl));
        }

        if (!options.Frozen)
        {
            options = options.Clone();
            options.Freeze();
        }

        _options = options;
        _tokenizers = new Tokenization.TokenizerLocator(options.TokenizerDirectory, options.HuggingFaceHubCache);
        _apiKey = ValidateApiKey(options.ApiKey);
        _baseUrl = baseUrl.AbsoluteUri.TrimEnd('/');
        _time = options.TimeProvider;
        _logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger("TinkerFlow.Http");
        _queueWarnings = new QueueStateWarnings(_logger, _time);
        _sampling = new SamplingBackpressure(_time);
        _billing = new BillingPause(_time, _logger);
        _userAgent = $"TinkerFlow/{Version}";
        handler ??= options.HttpMessageHandler;
        _http = handler is null
            ? new HttpClient(CreateDefaultHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan }
            : new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

        // Archive downloads go to other hosts without credentials; only a caller-supplied handler is shared with them.
        _downloadHttp = handler is null ? null : new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private readonly Tokenization.TokenizerLocator _tokenizers;

    /// <summary>The TinkerFlow version sent in <c>User-Agent</c>.</summary>
    public static string Version { get; } = ReadVersion();

    /// <inheritdoc/>
    public override string Name => _baseUrl;

    /// <summary>The HTTP client for archive downloads, or null for the shared default one.</summary>
    internal HttpClient? DownloadClient => _downloadHttp;

    /// <summary>The options in force.</summary>
    internal TinkerClientOptions Options => _options;

    /// <summary>The negotiated client config, once start-up ran.</summary>
    internal ClientConfigResponse? Config => _config;

    /// <summary>The sampling dispatch limits (exposed for tests).</summary>
    internal SamplingBackpressure Sampling => _sampling;

    /// <summary>Random source for layer-A jitter; tests may replace it.</summary>
    internal Func<double> Uniform { get; set; } = Random.Shared.NextDouble;

    /// <inheritdoc/>
    public override Task<TinkerTokenizer> GetTokenizerAsync(string baseModel, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(baseModel);
        if (_options.TokenizerResolver is { } resolver)
        {
            return Task.FromResult(resolver(baseModel) ?? throw new InvalidOperationException(
                $"TinkerClientOptions.TokenizerResolver returned null for '{baseModel}'; it must return a tokenizer or throw."));
        }

        // The service has no tokenizer endpoint: load tokenizer.json from this machine (cached per name).
        return Task.Run<TinkerTokenizer>(() => _tokenizers.Resolve(baseModel), cancellationToken);
    }

    /// <inheritdoc/>
    public override ValueTask DisposeAsync()
    {
        if (!_disposed.IsCancellationRequested)
        {
            _disposed.Cancel();
            _downloadHttp?.Dispose();
            _http.Dispose();
        }

        return base.DisposeAsync();
    }

    /// <summary>Checks the API key: it must start with <c>tml-</c> or be a JWT (<c>eyJ…</c>).</summary>
    /// <param name="apiKey">The configured key.</param>
    /// <returns>The key.</returns>
    internal static string ValidateApiKey(string? apiKey)
    {
        if (string.IsNullOrWhiteSpace(apiKey))
        {
            throw new InvalidOperationException(
                "No Tinker API key: set TinkerClientOptions.ApiKey or the TINKER_API_KEY environment variable to your key (it starts with 'tml-').");
        }

        if (!apiKey.StartsWith("tml-", StringComparison.Ordinal) && !apiKey.StartsWith("eyJ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                "The Tinker API key (TinkerClientOptions.ApiKey or TINKER_API_KEY) is not valid: it must start with 'tml-' (or be a JWT starting with 'eyJ'). " +
                "Copy the key from the Tinker console.");
        }

        return apiKey;
    }

    /// <summary>Runs client/config once (and the JWT exchange when the server asks for it).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    private async ValueTask EnsureStartedAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _config) is not null)
        {
            return;
        }

        await _configLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_config is not null)
            {
                return;
            }

            var call = JsonCall(HttpMethod.Post, "api/v1/client/config", "client/config", new ClientConfigRequest { SdkVersion = ServiceClient.EmulatedSdkVersion }) with
            {
                UseRawApiKey = true,
            };
            ClientConfigResponse config;
            try
            {
                config = await WithOuterRetriesAsync(call.Operation, ct => SendJsonAsync<ClientConfigResponse>(call, ct), cancellationToken).ConfigureAwait(false);
            }
            catch (TinkerRequestException ex) when (ex is not TinkerConnectionException && ex.Status is not (401 or 403) && !(ex.Status is { } s && HttpErrors.IsRetryableStatus(s)))
            {
                throw new TinkerRequestException(
                    $"The server at {_baseUrl} is not Tinker-compatible: POST /api/v1/client/config (required since Tinker SDK 0.18) failed. " +
                    $"Check TinkerClientOptions.BaseUrl / TINKER_BASE_URL. Details: {ex.Message}",
                    ex.Category,
                    ex.Status,
                    ex.RequestId,
                    ex.ResponseBody,
                    ex);
            }

            if (config.ProtoWriteFwdbwd)
            {
                _logger.LogInformation("The Tinker service asks for protobuf forward_backward bodies (proto_write_fwdbwd); TinkerFlow emulates SDK {Version} and keeps sending JSON.", ServiceClient.EmulatedSdkVersion);
            }

            if (config.PjwtAuthEnabled)
            {
                var jwt = new JwtCredential(FetchJwtAsync, _time, _logger);
                await jwt.GetAsync(cancellationToken).ConfigureAwait(false);
                _jwt = jwt;
            }

            Volatile.Write(ref _config, config);
        }
        finally
        {
            _configLock.Release();
        }
    }

    private async Task<string> FetchJwtAsync(CancellationToken cancellationToken)
    {
        var call = new HttpCall(HttpMethod.Post, "api/v1/auth/token", "auth/token") { Body = "{}"u8.ToArray(), UseRawApiKey = true };
        var response = await WithOuterRetriesAsync(call.Operation, ct => SendJsonAsync<AuthTokenResponse>(call, ct), cancellationToken).ConfigureAwait(false);
        return response.Jwt;
    }

    private ValueTask<string> GetCredentialAsync(HttpCall call, CancellationToken cancellationToken) =>
        call.UseRawApiKey || _jwt is null ? ValueTask.FromResult(_apiKey) : _jwt.GetAsync(cancellationToken);

    private static SocketsHttpHandler CreateDefaultHandler() => new()
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = 1000,
    };

    private static string ReadVersion()
    {
        var assembly = typeof(HttpBackend).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (!string.IsNullOrEmpty(informational))
        {
            var plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? informational : informational[..plus];
        }

        return assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    }
}
