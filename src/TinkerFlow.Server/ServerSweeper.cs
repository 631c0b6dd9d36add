using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TinkerFlow.Server;

/// <summary>
/// Periodic clean-up: drops results past their retention (and the replay keys that point at them), frees the
/// in-memory models and samplers of sessions that stopped heartbeating, and deletes expired archive files.
/// </summary>
internal sealed class ServerSweeper(ServerState state, ILogger<ServerSweeper> logger) : BackgroundService
{
    /// <summary>One clean-up pass.</summary>
    public void SweepOnce()
    {
        state.Futures.Evict();
        state.Replays.Evict(state.Futures.Contains);
        foreach (var session in state.ReleaseIdleSessions())
        {
            logger.LogInformation("Session {SessionId} stopped heartbeating; its models and samplers were released.", session);
        }

        state.DeleteExpiredArchives();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(state.Options.SweepInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    SweepOnce();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Clean-up pass failed; retrying at the next interval.");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
