namespace TinkerFlow.Server.Dashboard;

/// <summary>
/// The <c>metrics.jsonl</c> files the dashboard shows, tailed on demand: <see cref="Refresh"/> looks for new run
/// folders (every <see cref="DiscoveryInterval"/>) and reads new lines (at most once per poll interval, however many
/// streams ask). Log-path mode finds a recipe's <c>log_path</c> or a folder of them; server mode finds
/// <c>&lt;home&gt;/runs/&lt;run&gt;/metrics.jsonl</c>, written by <see cref="RunMetricsRecorder"/>.
/// </summary>
internal sealed class MetricsCatalog
{
    public const string FileName = "metrics.jsonl";

    /// <summary>How often the folders are searched for new runs (new lines are read every poll).</summary>
    public static readonly TimeSpan DiscoveryInterval = TimeSpan.FromSeconds(2);

    private readonly Func<IEnumerable<(string RunId, string File)>> _discover;
    private readonly TimeProvider _time;
    private readonly TimeSpan _pollInterval;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, MetricsRun> _runs = new(StringComparer.Ordinal);
    private long? _lastPoll;
    private long? _lastDiscovery;

    private MetricsCatalog(Func<IEnumerable<(string RunId, string File)>> discover, TimeProvider time, TimeSpan pollInterval)
    {
        _discover = discover;
        _time = time;
        _pollInterval = pollInterval;
    }

    /// <summary>Incremented whenever a run appears or a file changes; streams skip their scan when it did not move.</summary>
    public long Version { get; private set; }

    /// <summary>A recipe's <c>log_path</c> (run id: its folder name), a folder of run folders (run id: the relative path, three levels deep) or a <c>metrics.jsonl</c> file.</summary>
    public static MetricsCatalog ForLogPath(string logPath, TimeProvider time, TimeSpan pollInterval)
    {
        var root = Path.GetFullPath(logPath);
        return new MetricsCatalog(() => DiscoverLogPath(root), time, pollInterval);
    }

    /// <summary>The server's runs: <c>&lt;home&gt;/runs/&lt;run id&gt;/metrics.jsonl</c>.</summary>
    public static MetricsCatalog ForServerHome(string home, TimeProvider time, TimeSpan pollInterval)
    {
        var runs = Path.Combine(Path.GetFullPath(home), "runs");
        return new MetricsCatalog(() => DiscoverServerRuns(runs), time, pollInterval);
    }

    /// <summary>Every known run, ordered by id.</summary>
    public IReadOnlyList<MetricsRun> Runs
    {
        get
        {
            lock (_gate)
            {
                return _runs.Values.OrderBy(r => r.RunId, StringComparer.Ordinal).ToList();
            }
        }
    }

    public MetricsRun? Find(string runId)
    {
        lock (_gate)
        {
            return _runs.GetValueOrDefault(runId);
        }
    }

    /// <summary>Finds new runs and reads new lines, unless another caller did so less than a poll interval ago.</summary>
    /// <param name="force">Look now regardless (a new stream's first scan, a REST read).</param>
    public void Refresh(bool force = false)
    {
        lock (_gate)
        {
            var now = Environment.TickCount64;
            if (!force && _lastPoll is { } last && now - last < _pollInterval.TotalMilliseconds * 0.8)
            {
                return;
            }

            _lastPoll = now;
            if (force || _lastDiscovery is not { } discovered || now - discovered >= DiscoveryInterval.TotalMilliseconds)
            {
                _lastDiscovery = now;
                foreach (var (runId, file) in SafeDiscover())
                {
                    if (!_runs.ContainsKey(runId))
                    {
                        _runs[runId] = new MetricsRun(runId, file);
                        Version++;
                    }
                }
            }

            var at = _time.GetUtcNow();
            foreach (var run in _runs.Values)
            {
                if (run.ReadNew(at))
                {
                    Version++;
                }
            }
        }
    }

    private List<(string RunId, string File)> SafeDiscover()
    {
        try
        {
            return _discover().ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static IEnumerable<(string RunId, string File)> DiscoverLogPath(string root)
    {
        if (File.Exists(root))
        {
            yield return (Path.GetFileName(Path.GetDirectoryName(root)) ?? "run", root);
            yield break;
        }

        if (!Directory.Exists(root))
        {
            yield break;
        }

        var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 3, IgnoreInaccessible = true };
        foreach (var file in Directory.EnumerateFiles(root, FileName, options))
        {
            var folder = Path.GetDirectoryName(file)!;
            var relative = Path.GetRelativePath(root, folder);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.') && part != "."))
            {
                continue;
            }

            yield return (relative == "." ? Path.GetFileName(root) : relative.Replace(Path.DirectorySeparatorChar, '/'), file);
        }
    }

    private static IEnumerable<(string RunId, string File)> DiscoverServerRuns(string runs)
    {
        if (!Directory.Exists(runs))
        {
            yield break;
        }

        foreach (var folder in Directory.EnumerateDirectories(runs))
        {
            var file = Path.Combine(folder, FileName);
            if (File.Exists(file))
            {
                yield return (Path.GetFileName(folder), file);
            }
        }
    }
}
