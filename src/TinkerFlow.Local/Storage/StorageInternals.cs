using System.Runtime.CompilerServices;

// The server hosts the engine with its own RunStore (SQLite) and per-user views of one engine.
[assembly: InternalsVisibleTo("TinkerFlow.Server")]
[assembly: InternalsVisibleTo("TinkerFlow.Server.Tests")]
