using System.Net.Http.Headers;
using System.Text;

namespace TinkerFlow.Http;

/// <summary>A fully read HTTP answer.</summary>
internal sealed class HttpReply
{
    public HttpReply(int status, HttpResponseHeaders headers, HttpContentHeaders contentHeaders, byte[] body, Uri requestUri)
    {
        Status = status;
        Headers = headers;
        ContentHeaders = contentHeaders;
        Body = body;
        RequestUri = requestUri;
    }

    public int Status { get; }

    public HttpResponseHeaders Headers { get; }

    public HttpContentHeaders ContentHeaders { get; }

    public byte[] Body { get; }

    public Uri RequestUri { get; }

    /// <summary>How many HTTP attempts the low-level layer made to get this answer.</summary>
    public int Attempts { get; set; } = 1;

    public bool IsSuccess => Status is >= 200 and < 300;

    public string? MediaType => ContentHeaders.ContentType?.MediaType;

    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>Returns a response header as sent (unvalidated), or null.</summary>
    /// <param name="name">The header name (case-insensitive).</param>
    public string? Header(string name)
    {
        if (Headers.NonValidated.TryGetValues(name, out var values) || ContentHeaders.NonValidated.TryGetValues(name, out values))
        {
            foreach (var value in values)
            {
                return value;
            }
        }

        return null;
    }
}
