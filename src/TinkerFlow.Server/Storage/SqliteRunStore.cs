using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Data.Sqlite;
using TinkerFlow.Local.Storage;
using TinkerFlow.Types;

namespace TinkerFlow.Server.Storage;

/// <summary>
/// The server's store: sessions, runs, samplers, checkpoint metadata, API users and server secrets in one SQLite
/// database (<c>&lt;home&gt;/tinkerflow.db</c>, WAL journal); checkpoint files stay in folders beside it.
/// </summary>
/// <remarks>
/// Records are kept as JSON (the same shapes the file store writes) next to the columns queries filter on. Each
/// operation opens a pooled connection, so the store is safe to use from many threads; SQLite serialises writers.
/// </remarks>
internal sealed class SqliteRunStore : RunStore, IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS sessions (
            session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created_ms INTEGER NOT NULL, json TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS sessions_owner ON sessions(owner);
        CREATE TABLE IF NOT EXISTS runs (
            run_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created_ms INTEGER NOT NULL, json TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS runs_owner ON runs(owner);
        CREATE TABLE IF NOT EXISTS samplers (
            sampler_id TEXT PRIMARY KEY, owner TEXT NOT NULL, json TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS checkpoints (
            run_id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, time_ms INTEGER NOT NULL,
            public INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (run_id, kind, name));
        CREATE TABLE IF NOT EXISTS api_users (
            key_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_ms INTEGER NOT NULL, active INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        """;

    private readonly string _connectionString;

    public SqliteRunStore(string home, TimeProvider? time = null)
        : base(home, time)
    {
        DatabasePath = Path.Combine(Home, "tinkerflow.db");
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using var connection = Open();
        Execute(connection, "PRAGMA journal_mode=WAL;");
        Execute(connection, Schema);
    }

    /// <summary>The database file.</summary>
    public string DatabasePath { get; }

    // ---------------------------------------------------------------- API users and secrets

    /// <summary>Makes exactly these keys valid (others are deactivated) and returns key hash → user id.</summary>
    public IReadOnlyDictionary<string, string> SetActiveKeys(IEnumerable<string> keys)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        using var connection = Open();
        using var tx = connection.BeginTransaction();
        Execute(connection, "UPDATE api_users SET active = 0;", tx);
        foreach (var key in keys)
        {
            var hash = HashKey(key);
            var userId = $"user-{hash[..12]}";
            Execute(
                connection,
                "INSERT INTO api_users (key_hash, user_id, created_ms, active) VALUES ($h, $u, $t, 1) ON CONFLICT(key_hash) DO UPDATE SET active = 1;",
                tx,
                ("$h", hash),
                ("$u", userId),
                ("$t", Now.ToUnixTimeMilliseconds()));
            result[hash] = Scalar(connection, "SELECT user_id FROM api_users WHERE key_hash = $h;", tx, ("$h", hash)) ?? userId;
        }

        tx.Commit();
        return result;
    }

    /// <summary>The hex SHA-256 of an API key (keys themselves are never stored in the database).</summary>
    public static string HashKey(string key) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)));

    /// <summary>A named random secret, created on first use and kept across restarts.</summary>
    public byte[] GetOrCreateSecret(string name)
    {
        using var connection = Open();
        var candidate = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        Execute(connection, "INSERT OR IGNORE INTO settings (name, value) VALUES ($n, $v);", null, ("$n", name), ("$v", candidate));
        return Convert.FromBase64String(Scalar(connection, "SELECT value FROM settings WHERE name = $n;", null, ("$n", name))!);
    }

    // ---------------------------------------------------------------- records

    protected override SessionRecord? ReadSession(string sessionId) =>
        ReadOne("SELECT json FROM sessions WHERE session_id = $id;", LocalStoreJsonContext.Default.SessionRecord, ("$id", sessionId));

    protected override void WriteSession(SessionRecord record) =>
        Write(
            "INSERT INTO sessions (session_id, owner, created_ms, json) VALUES ($id, $o, $t, $j) ON CONFLICT(session_id) DO UPDATE SET json = excluded.json;",
            ("$id", record.SessionId),
            ("$o", record.Owner),
            ("$t", record.Created.ToUnixTimeMilliseconds()),
            ("$j", Json(record, LocalStoreJsonContext.Default.SessionRecord)));

    protected override IEnumerable<SessionRecord> ReadSessions(string owner) =>
        ReadMany("SELECT json FROM sessions WHERE owner = $o ORDER BY created_ms DESC;", LocalStoreJsonContext.Default.SessionRecord, ("$o", owner));

    protected override RunRecord? ReadRun(string trainingRunId) =>
        ReadOne("SELECT json FROM runs WHERE run_id = $id;", LocalStoreJsonContext.Default.RunRecord, ("$id", trainingRunId));

    protected override void WriteRun(RunRecord run) =>
        Write(
            "INSERT INTO runs (run_id, owner, created_ms, json) VALUES ($id, $o, $t, $j) ON CONFLICT(run_id) DO UPDATE SET json = excluded.json;",
            ("$id", run.TrainingRunId),
            ("$o", run.ModelOwner),
            ("$t", run.Created.ToUnixTimeMilliseconds()),
            ("$j", Json(run, LocalStoreJsonContext.Default.RunRecord)));

    protected override IEnumerable<RunRecord> ReadRuns(string owner, bool includePublished) =>
        ReadMany(
            "SELECT json FROM runs WHERE owner = $o OR ($p = 1 AND EXISTS (SELECT 1 FROM checkpoints c WHERE c.run_id = runs.run_id AND c.public = 1)) ORDER BY created_ms DESC;",
            LocalStoreJsonContext.Default.RunRecord,
            ("$o", owner),
            ("$p", includePublished ? 1 : 0));

    protected override SamplerRecord? ReadSampler(string samplerId) =>
        ReadOne("SELECT json FROM samplers WHERE sampler_id = $id;", LocalStoreJsonContext.Default.SamplerRecord, ("$id", samplerId));

    protected override void WriteSampler(SamplerRecord sampler) =>
        Write(
            "INSERT INTO samplers (sampler_id, owner, json) VALUES ($id, $o, $j) ON CONFLICT(sampler_id) DO UPDATE SET owner = excluded.owner, json = excluded.json;",
            ("$id", sampler.SamplerId),
            ("$o", sampler.Owner),
            ("$j", Json(sampler, LocalStoreJsonContext.Default.SamplerRecord)));

    protected override IEnumerable<Checkpoint> ReadCheckpoints(string trainingRunId) =>
        ReadMany("SELECT json FROM checkpoints WHERE run_id = $r ORDER BY time_ms DESC;", LocalStoreJsonContext.Default.Checkpoint, ("$r", trainingRunId));

    protected override Checkpoint? ReadCheckpoint(string trainingRunId, CheckpointType type, string name) =>
        ReadOne(
            "SELECT json FROM checkpoints WHERE run_id = $r AND kind = $k AND name = $n;",
            LocalStoreJsonContext.Default.Checkpoint,
            ("$r", trainingRunId),
            ("$k", KindSegment(type)),
            ("$n", name));

    protected override void WriteCheckpoint(string trainingRunId, Checkpoint checkpoint) => CheckpointCommitted(trainingRunId, checkpoint);

    protected override void CheckpointCommitted(string trainingRunId, Checkpoint checkpoint) =>
        Write(
            "INSERT INTO checkpoints (run_id, kind, name, time_ms, public, json) VALUES ($r, $k, $n, $t, $p, $j) " +
            "ON CONFLICT(run_id, kind, name) DO UPDATE SET time_ms = excluded.time_ms, public = excluded.public, json = excluded.json;",
            ("$r", trainingRunId),
            ("$k", KindSegment(checkpoint.CheckpointType)),
            ("$n", NameOf(checkpoint)),
            ("$t", checkpoint.Time.ToUnixTimeMilliseconds()),
            ("$p", checkpoint.Public ? 1 : 0),
            ("$j", Json(checkpoint, LocalStoreJsonContext.Default.Checkpoint)));

    protected override void RemoveCheckpoint(string trainingRunId, CheckpointType type, string name) =>
        Write("DELETE FROM checkpoints WHERE run_id = $r AND kind = $k AND name = $n;", ("$r", trainingRunId), ("$k", KindSegment(type)), ("$n", name));

    /// <summary>Releases pooled connections so the database file is closed.</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    // ---------------------------------------------------------------- plumbing

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static string Json<T>(T value, JsonTypeInfo<T> typeInfo) => JsonSerializer.Serialize(value, typeInfo);

    private T? ReadOne<T>(string sql, JsonTypeInfo<T> typeInfo, params (string Name, object Value)[] parameters)
        where T : class
    {
        using var connection = Open();
        var json = Scalar(connection, sql, null, parameters);
        return json is null ? null : JsonSerializer.Deserialize(json, typeInfo);
    }

    private List<T> ReadMany<T>(string sql, JsonTypeInfo<T> typeInfo, params (string Name, object Value)[] parameters)
    {
        using var connection = Open();
        using var command = Command(connection, sql, null, parameters);
        using var reader = command.ExecuteReader();
        var result = new List<T>();
        while (reader.Read())
        {
            if (JsonSerializer.Deserialize(reader.GetString(0), typeInfo) is { } value)
            {
                result.Add(value);
            }
        }

        return result;
    }

    private void Write(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Open();
        Execute(connection, sql, null, parameters);
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? tx = null, params (string Name, object Value)[] parameters)
    {
        using var command = Command(connection, sql, tx, parameters);
        command.ExecuteNonQuery();
    }

    private static string? Scalar(SqliteConnection connection, string sql, SqliteTransaction? tx, params (string Name, object Value)[] parameters)
    {
        using var command = Command(connection, sql, tx, parameters);
        return command.ExecuteScalar() as string;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? tx, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }
}
