using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using TinkerFlow.Server;
using TinkerFlow.Types;

namespace TinkerFlow.Dashboard.Tests;

/// <summary>
/// An in-process TinkerFlow server (dashboard included) on 127.0.0.1:0 with a temp home, two API keys and the built-in
/// tiny model, plus helpers that train a few steps through the real client.
/// </summary>
internal sealed class DashboardServer : IAsyncDisposable
{
    public const string Alice = "tml-alice-dashboard-key-0001";
    public const string Bob = "tml-bob-dashboard-key-0002";
    public const string Model = "tinkerflow/tiny-qwen3";

    private readonly TempDirectory _home;
    private readonly List<ServiceClient> _services = [];

    private DashboardServer(WebApplication app, TempDirectory home)
    {
        App = app;
        _home = home;
        BaseUrl = new Uri(app.Urls.First().TrimEnd('/') + "/");
        Http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(100) };
    }

    public WebApplication App { get; }

    public string Home => _home.Path;

    public Uri BaseUrl { get; }

    public HttpClient Http { get; }

    public static async Task<DashboardServer> StartAsync()
    {
        var home = new TempDirectory("tinkerflow-dashboard-home-");
        var app = TinkerFlowServer.Build(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", "--home", home.Path],
            o =>
            {
                o.ApiKeys = [Alice, Bob];
                o.PreloadModels = false;
            });
        await app.StartAsync();
        return new DashboardServer(app, home);
    }

    /// <summary>A LoRA training client of <paramref name="key"/>'s user on this server.</summary>
    public async Task<TrainingClient> CreateTrainingClientAsync(string key = Alice)
    {
        var service = new ServiceClient(new TinkerClientOptions { BaseUrl = BaseUrl, ApiKey = key });
        _services.Add(service);
        return await service.CreateLoraTrainingClientAsync(Model, rank: 4, seed: 7);
    }

    /// <summary>One forward_backward (cross-entropy, 4 weighted tokens) and one optim_step.</summary>
    public static async Task<ForwardBackwardOutput> TrainStepAsync(TrainingClient client)
    {
        var datum = Datum.Create(
            ModelInput.FromInts([5, 6, 7, 8, 9]),
            new Dictionary<string, object> { ["target_tokens"] = new[] { 6, 7, 8, 9, 10 }, ["weights"] = new[] { 0f, 1f, 1f, 1f, 1f } });
        var output = await client.ForwardBackwardAsync(WaitUntil.Completed, [datum], LossFnType.CrossEntropy);
        await client.OptimStepAsync(WaitUntil.Completed, new AdamParams { LearningRate = 0.01 });
        return output.Value;
    }

    /// <summary>GET or other request with an optional API key; returns status and parsed JSON (null when not JSON).</summary>
    public async Task<(int Status, string? MediaType, string Text)> SendAsync(HttpMethod method, string path, string? key = Alice)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (key is not null)
        {
            request.Headers.Add("X-API-Key", key);
        }

        using var response = await Http.SendAsync(request);
        return ((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    public async Task<JsonElement> GetJsonAsync(string path, string key = Alice)
    {
        var (status, _, text) = await SendAsync(HttpMethod.Get, path, key);
        Assert.True(status == 200, $"GET {path}: {status} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<string> StreamTokenAsync(string key = Alice)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "dashboard/api/stream-token");
        request.Headers.Add("X-API-Key", key);
        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return json.GetProperty("token").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in _services)
        {
            await service.DisposeAsync();
        }

        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        _home.Dispose();
    }
}
