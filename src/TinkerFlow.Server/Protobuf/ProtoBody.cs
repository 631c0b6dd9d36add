using Microsoft.AspNetCore.Http;
using TinkerFlow.Server.Http;
using ZstdSharp;

namespace TinkerFlow.Server.Protobuf;

/// <summary>Protobuf request bodies (SDK ≥0.25 forward_backward): content-type check and zstd decompression.</summary>
internal static class ProtoBody
{
    /// <summary>True when the request says its body is protobuf.</summary>
    public static bool IsProtobuf(HttpRequest request) =>
        request.ContentType?.Contains("protobuf", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>True when the client accepts protobuf answers.</summary>
    public static bool AcceptsProtobuf(HttpRequest request) =>
        request.Headers.Accept.Any(value => value?.Contains(ProtoResultWriter.ContentType, StringComparison.OrdinalIgnoreCase) == true);

    /// <summary>Reads the raw body and undoes <c>Content-Encoding: zstd</c>; the decompressed size is limited too (413).</summary>
    public static async Task<byte[]> ReadAsync(HttpContext context, long limit)
    {
        var bytes = await RequestBody.ReadBytesAsync(context, limit, allowProtobuf: true).ConfigureAwait(false);
        var encoding = context.Request.Headers.ContentEncoding.ToString().Trim();
        if (encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return bytes;
        }

        if (!encoding.Equals("zstd", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiError(StatusCodes.Status415UnsupportedMediaType, $"Content-Encoding '{encoding}' is not supported; send the body plain or as one zstd frame (Content-Encoding: zstd).");
        }

        try
        {
            using var source = new DecompressionStream(new MemoryStream(bytes));
            using var output = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await source.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (output.Length + read > limit)
                {
                    throw new ApiError(StatusCodes.Status413PayloadTooLarge, $"The zstd body decompresses to more than this server's limit of {limit} bytes; split the batch into smaller requests.");
                }

                output.Write(chunk, 0, read);
            }

            return output.ToArray();
        }
        catch (ZstdException ex)
        {
            throw ApiError.BadRequest($"The body is marked Content-Encoding: zstd but is not a valid zstd frame: {ex.Message}");
        }
    }
}
