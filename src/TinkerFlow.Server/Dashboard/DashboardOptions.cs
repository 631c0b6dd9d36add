namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// Settings of the training dashboard (<see cref="TinkerFlowDashboard.MapTinkerFlowDashboard"/>).
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Property</term><description>Default</description></listheader>
/// <item><term><see cref="LogPath"/></term><description>null: server mode (the engine metrics of the server's runs, behind its API keys)</description></item>
/// <item><term><see cref="PollInterval"/></term><description>500 ms between looks at the <c>metrics.jsonl</c> files</description></item>
/// <item><term><see cref="HeartbeatInterval"/></term><description>15 s between keep-alive comments on an idle event stream</description></item>
/// <item><term><see cref="StreamTokenLifetime"/></term><description>2 min (server mode: how long a token may open an event stream)</description></item>
/// <item><term><see cref="LoopbackOnly"/></term><description>true in log-path mode: requests from other machines get 403</description></item>
/// </list>
/// </remarks>
public sealed class DashboardOptions
{
    /// <summary>
    /// Log-path mode: a run folder holding <c>metrics.jsonl</c> (a recipe's <c>log_path</c>), or a folder of run folders
    /// (searched three levels deep). The dashboard then needs no API key and shows those runs' recipe metrics. Null:
    /// server mode, which needs <see cref="TinkerFlowServer.AddTinkerFlow"/>'s services.
    /// </summary>
    public string? LogPath { get; set; }

    /// <summary>How often the <c>metrics.jsonl</c> files are checked for new lines (and new run folders).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>An event stream that sent nothing for this long gets a comment line, so proxies keep it open.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Server mode: how long a stream token (<c>POST /dashboard/api/stream-token</c>) may be used to open the event stream.</summary>
    public TimeSpan StreamTokenLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Log-path mode only: answer 403 to requests that do not come from this machine (there is no key to check).</summary>
    public bool LoopbackOnly { get; set; } = true;
}
