using System.Net;
using TinkerFlow.Local.Tests.Backend;

namespace TinkerFlow.Server.Tests;

/// <summary>Checkpoint REST endpoints, signed archive downloads, ownership rules and restarts.</summary>
[Collection("Torch")]
public sealed class CheckpointRestTests : IAsyncLifetime
{
    private readonly TempHome _home = new();
    private ServerHost? _host;

    private ServerHost Host => _host!;

    public async Task InitializeAsync() => _host = await ServerHost.StartAsync(_home.Path);

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _home.Dispose();
    }

    private async Task<(string Session, string Model, string Path)> TrainAndSaveAsync(string name, string key = ServerHost.Alice)
    {
        var session = await Host.CreateSessionAsync(key);
        var model = await Host.CreateModelAsync(session, key: key);
        await Host.CallAsync("api/v1/forward_backward", ServerHost.SimpleForwardBackward(model, 1), key);
        await Host.CallAsync("api/v1/optim_step", $$"""{"adam_params":{"learning_rate":0.01},"model_id":"{{model}}","seq_id":2,"type":"optim_step"}""", key);
        var saved = await Host.CallAsync("api/v1/save_weights", $$"""{"model_id":"{{model}}","path":"{{name}}","seq_id":3,"type":"save_weights"}""", key);
        return (session, model, saved.GetProperty("path").GetString()!);
    }

    [Fact]
    public async Task Checkpoints_ListPageTtlPublishArchiveAndDelete()
    {
        var (_, model, path) = await TrainAndSaveAsync("c1");

        var listed = await Host.GetAsync($"api/v1/training_runs/{model}/checkpoints");
        var checkpoint = Assert.Single(listed.Json.GetProperty("checkpoints").EnumerateArray());
        Assert.Equal("weights/c1", checkpoint.GetProperty("checkpoint_id").GetString());
        Assert.Equal("training", checkpoint.GetProperty("checkpoint_type").GetString());
        Assert.Equal(path, checkpoint.GetProperty("tinker_path").GetString());
        Assert.True(checkpoint.GetProperty("size_bytes").GetInt64() > 0);

        var all = await Host.GetAsync("api/v1/checkpoints?limit=10&offset=0");
        Assert.Equal(1, all.Json.GetProperty("cursor").GetProperty("total_count").GetInt32());
        var runs = await Host.GetAsync("api/v1/training_runs?limit=1&offset=0&access_scope=owned");
        Assert.Equal(model, runs.Json.GetProperty("training_runs")[0].GetProperty("training_run_id").GetString());
        var run = await Host.GetAsync($"api/v1/training_runs/{model}");
        Assert.Equal("weights/c1", run.Json.GetProperty("last_checkpoint").GetProperty("checkpoint_id").GetString());

        var ttl = await Host.SendAsync(HttpMethod.Put, $"api/v1/training_runs/{model}/checkpoints/weights/c1/ttl", """{"ttl_seconds":3600}""");
        Assert.Equal(HttpStatusCode.OK, ttl.Status);
        Assert.Equal(HttpStatusCode.OK, (await Host.PostAsync($"api/v1/training_runs/{model}/checkpoints/weights/c1/publish", null)).Status);
        var twice = await Host.PostAsync($"api/v1/training_runs/{model}/checkpoints/weights/c1/publish", null);
        Assert.Equal(HttpStatusCode.Conflict, twice.Status);
        Assert.Contains("already public", twice.Error);
        var updated = Assert.Single((await Host.GetAsync($"api/v1/training_runs/{model}/checkpoints")).Json.GetProperty("checkpoints").EnumerateArray());
        Assert.True(updated.GetProperty("public").GetBoolean());
        Assert.NotEqual(System.Text.Json.JsonValueKind.Undefined, updated.GetProperty("expires_at").ValueKind);

        var info = await Host.PostAsync("api/v1/weights_info", $$"""{"tinker_path":"{{path}}"}""");
        Assert.Equal(4, info.Json.GetProperty("lora_rank").GetInt32());

        var archive = await Host.GetAsync($"api/v1/training_runs/{model}/checkpoints/weights/c1/archive");
        Assert.Equal(HttpStatusCode.Found, archive.Status);
        Assert.NotNull(archive.Location);
        Assert.NotNull(archive.Expires);
        Assert.StartsWith(Host.BaseUrl + "api/v1/archives/", archive.Location!.ToString());
        using (var download = await Host.Http.GetAsync(archive.Location))
        {
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            var bytes = await download.Content.ReadAsByteArrayAsync();
            Assert.True(bytes.Length > 100);
            Assert.Equal(new byte[] { 0x1f, 0x8b }, bytes[..2]);
        }

        var location = archive.Location.ToString();
        var dot = location.LastIndexOf('.');
        var tampered = location[..(dot + 1)] + (location[dot + 1] == 'A' ? 'B' : 'A') + location[(dot + 2)..];
        var forged = await Host.GetAsync(tampered, key: null);
        Assert.Equal(HttpStatusCode.Forbidden, forged.Status);
        Assert.Contains("signature", forged.Error);

        Assert.Equal(HttpStatusCode.OK, (await Host.SendAsync(HttpMethod.Delete, $"api/v1/training_runs/{model}/checkpoints/weights/c1", null)).Status);
        Assert.Empty((await Host.GetAsync($"api/v1/training_runs/{model}/checkpoints")).Json.GetProperty("checkpoints").EnumerateArray());
        var load = await Host.CallAsync("api/v1/load_weights", $$"""{"model_id":"{{model}}","path":"{{path}}","optimizer":false,"seq_id":4,"type":"load_weights"}""");
        Assert.Equal("user", load.GetProperty("category").GetString());
        Assert.Contains("not found", load.GetProperty("error").GetString());
    }

    [Fact]
    public async Task SaveWeights_TakenNameIs409_ButAReplayGetsItsFirstAnswer()
    {
        var (_, model, path) = await TrainAndSaveAsync("dup");
        var first = $$"""{"model_id":"{{model}}","path":"dup","seq_id":3,"type":"save_weights"}""";

        var replay = await Host.PostAsync("api/v1/save_weights", first);
        var taken = await Host.PostAsync("api/v1/save_weights", $$"""{"model_id":"{{model}}","path":"dup","seq_id":4,"type":"save_weights"}""");
        var overwrite = await Host.CallAsync("api/v1/save_weights", $$"""{"model_id":"{{model}}","path":"dup","seq_id":5,"overwrite":true,"type":"save_weights"}""");

        Assert.Equal(path, (await Host.ResultAsync(replay.Json.GetProperty("request_id").GetString()!)).GetProperty("path").GetString());
        Assert.Equal(HttpStatusCode.Conflict, taken.Status);
        Assert.Contains("overwrite", taken.Error);
        Assert.Equal(path, overwrite.GetProperty("path").GetString());
    }

    [Fact]
    public async Task PublishedCheckpoint_IsReadableButNotDeletableByOthers_PrivateIsInvisible()
    {
        var (_, model, path) = await TrainAndSaveAsync("shared");
        var hidden = await Host.GetAsync($"api/v1/training_runs/{model}/checkpoints", ServerHost.Bob);
        Assert.Equal(HttpStatusCode.NotFound, hidden.Status);
        var hiddenLoad = await Host.PostAsync("api/v1/weights_info", $$"""{"tinker_path":"{{path}}"}""", ServerHost.Bob);
        Assert.Equal(HttpStatusCode.NotFound, hiddenLoad.Status);

        await Host.PostAsync($"api/v1/training_runs/{model}/checkpoints/weights/shared/publish", null);

        var visible = await Host.GetAsync($"api/v1/training_runs/{model}/checkpoints", ServerHost.Bob);
        Assert.Single(visible.Json.GetProperty("checkpoints").EnumerateArray());
        var delete = await Host.SendAsync(HttpMethod.Delete, $"api/v1/training_runs/{model}/checkpoints/weights/shared", null, ServerHost.Bob);
        Assert.Equal(HttpStatusCode.Forbidden, delete.Status);
        Assert.Contains("another user", delete.Error);
        var unpublish = await Host.SendAsync(HttpMethod.Delete, $"api/v1/training_runs/{model}/checkpoints/weights/shared/publish", null, ServerHost.Bob);
        Assert.Equal(HttpStatusCode.Forbidden, unpublish.Status);

        // Bob can start his own run from Alice's published weights.
        var bobSession = await Host.CreateSessionAsync(ServerHost.Bob);
        var bobModel = await Host.CreateModelAsync(bobSession, key: ServerHost.Bob);
        var loaded = await Host.CallAsync("api/v1/load_weights", $$"""{"model_id":"{{bobModel}}","path":"{{path}}","optimizer":true,"seq_id":1,"type":"load_weights"}""", ServerHost.Bob);
        Assert.Equal(path, loaded.GetProperty("path").GetString());
        Assert.DoesNotContain(
            (await Host.GetAsync("api/v1/training_runs", ServerHost.Bob)).Json.GetProperty("training_runs").EnumerateArray(),
            r => r.GetProperty("training_run_id").GetString() == model);
        Assert.Contains(
            (await Host.GetAsync("api/v1/training_runs?access_scope=accessible", ServerHost.Bob)).Json.GetProperty("training_runs").EnumerateArray(),
            r => r.GetProperty("training_run_id").GetString() == model);
    }

    [Fact]
    public async Task Restart_KeepsRunsSessionsAndCheckpoints_AndLoadWeightsContinues()
    {
        var (session, model, path) = await TrainAndSaveAsync("before-restart");
        var expected = await Host.CallAsync("api/v1/forward", ServerHost.ForwardBackward(model, 4, [1, 2, 3, 4], [2, 3, 4, 5], [1f, 1f, 1f, 1f], wrapper: "forward_input"));

        await Host.DisposeAsync();
        _host = await ServerHost.StartAsync(_home.Path);

        var runs = await Host.GetAsync("api/v1/training_runs");
        Assert.Contains(runs.Json.GetProperty("training_runs").EnumerateArray(), r => r.GetProperty("training_run_id").GetString() == model);
        Assert.Contains((await Host.GetAsync("api/v1/sessions")).Json.GetProperty("sessions").EnumerateArray(), s => s.GetString() == session);
        Assert.Contains((await Host.GetAsync($"api/v1/sessions/{session}")).Json.GetProperty("training_run_ids").EnumerateArray(), r => r.GetString() == model);
        Assert.Single((await Host.GetAsync($"api/v1/training_runs/{model}/checkpoints")).Json.GetProperty("checkpoints").EnumerateArray());
        var stale = await Host.PostAsync("api/v1/get_info", $$"""{"model_id":"{{model}}"}""");
        Assert.Equal(HttpStatusCode.NotFound, stale.Status);

        var newSession = await Host.CreateSessionAsync();
        var resumed = await Host.CreateModelAsync(newSession);
        var loaded = await Host.CallAsync("api/v1/load_weights", $$"""{"model_id":"{{resumed}}","path":"{{path}}","optimizer":true,"seq_id":1,"type":"load_weights"}""");
        Assert.Equal(path, loaded.GetProperty("path").GetString());
        var actual = await Host.CallAsync("api/v1/forward", ServerHost.ForwardBackward(resumed, 2, [1, 2, 3, 4], [2, 3, 4, 5], [1f, 1f, 1f, 1f], wrapper: "forward_input"));
        Assert.Equal(
            expected.GetProperty("metrics").GetProperty("loss:sum").GetDouble(),
            actual.GetProperty("metrics").GetProperty("loss:sum").GetDouble(),
            5);
        Assert.True(File.Exists(Path.Combine(_home.Path, "tinkerflow.db")));
    }
}
