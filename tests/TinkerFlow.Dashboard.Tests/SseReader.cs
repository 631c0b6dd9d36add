using System.Text;
using System.Text.Json;

namespace TinkerFlow.Dashboard.Tests;

/// <summary>Reads server-sent events (<c>event:</c> / <c>data:</c> lines, blank line = dispatch; comments skipped).</summary>
internal sealed class SseReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    /// <summary>Comment lines seen so far (e.g. <c>: ping</c>).</summary>
    public int Comments { get; private set; }

    public async Task<(string Name, JsonElement Data)> NextAsync(CancellationToken cancellationToken)
    {
        string? name = null;
        var data = new StringBuilder();
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancellationToken) ?? throw new EndOfStreamException("The event stream ended.");
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    return (name ?? "message", JsonDocument.Parse(data.ToString()).RootElement.Clone());
                }

                name = null;
                continue;
            }

            if (line.StartsWith(':'))
            {
                Comments++;
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(line["data: ".Length..]);
            }
        }
    }

    /// <summary>Skips events until one named <paramref name="name"/> matches <paramref name="predicate"/>.</summary>
    public async Task<JsonElement> WaitForAsync(string name, Func<JsonElement, bool> predicate, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (next, data) = await NextAsync(cancellationToken);
            if (next == name && predicate(data))
            {
                return data;
            }
        }
    }

    public void Dispose() => _reader.Dispose();
}
