using Microsoft.Win32.SafeHandles;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace TinkerFlow.Local.Weights;

/// <summary>
/// Reads one <c>.safetensors</c> file: an 8-byte little-endian header length, a UTF-8 JSON header
/// <c>{name: {dtype, shape, data_offsets}}</c> with an optional <c>__metadata__</c> map, then the raw little-endian data.
/// </summary>
/// <remarks>
/// The header is validated up front (offsets inside the data section, sizes matching shapes, known dtypes), so a
/// truncated or malformed file fails with an <see cref="InvalidDataException"/> naming the file and the problem.
/// Tensor bytes are read with positioned reads straight into native tensor storage; no managed array holds the file.
/// </remarks>
internal sealed class SafeTensorsReader : IDisposable
{
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly SafeFileHandle _file;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafeTensorInfo> _entries;

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated or its header is malformed.</exception>
    public SafeTensorsReader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"safetensors file not found: {path}", path);
        }

        Path = path;
        long fileLength = new FileInfo(path).Length;
        if (fileLength < 8)
        {
            throw Bad($"file is {fileLength} bytes, too short for the 8-byte header length");
        }

        byte[] lengthBytes = new byte[8];
        using (var stream = File.OpenRead(path))
        {
            stream.ReadExactly(lengthBytes);
            ulong headerLength = BitConverter.ToUInt64(lengthBytes);
            if (headerLength > (ulong)(fileLength - 8) || headerLength > MaxHeaderBytes)
            {
                throw Bad($"bad header length {headerLength} (file is {fileLength} bytes); the file is truncated or not safetensors");
            }

            byte[] header = new byte[headerLength];
            stream.ReadExactly(header);
            _dataStart = 8 + (long)headerLength;
            long dataLength = fileLength - _dataStart;
            (_entries, Metadata) = ParseHeader(header, dataLength);
        }

        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
    }

    /// <summary>The file this reader was opened on.</summary>
    public string Path { get; }

    /// <summary>The <c>__metadata__</c> string map from the header (empty if absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor entry, keyed by name.</summary>
    public IReadOnlyDictionary<string, SafeTensorInfo> Entries => _entries;

    /// <summary>
    /// Reads one tensor into a new CPU tensor of the file's dtype (the caller owns it; it joins the current dispose scope).
    /// </summary>
    /// <exception cref="KeyNotFoundException">The file has no tensor named <paramref name="name"/>.</exception>
    public Tensor ReadTensor(string name)
    {
        if (!_entries.TryGetValue(name, out var info))
        {
            throw new KeyNotFoundException($"{Path}: no tensor named '{name}'.");
        }

        var tensor = torch.empty(info.Shape, info.ScalarType);
        if (info.ByteLength == 0)
        {
            return tensor;
        }
        if (info.ByteLength > int.MaxValue)
        {
            tensor.Dispose();
            throw new NotSupportedException($"{Path}: tensor '{name}' is {info.ByteLength} bytes; tensors over 2 GiB are not supported.");
        }

        Span<byte> destination = tensor.bytes;
        long position = _dataStart + info.Begin;
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(_file, destination, position);
            if (read == 0)
            {
                tensor.Dispose();
                throw Bad($"tensor '{name}' ends past the end of the file; the file was truncated while being read");
            }
            destination = destination[read..];
            position += read;
        }
        return tensor;
    }

    /// <summary>Reads every tensor (the caller owns them).</summary>
    public Dictionary<string, Tensor> ReadAll()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in _entries.Keys)
        {
            result[name] = ReadTensor(name);
        }
        return result;
    }

    /// <summary>Reads every tensor of <paramref name="path"/> (the caller owns them).</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        using var reader = new SafeTensorsReader(path);
        return reader.ReadAll();
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _file.Dispose();

    private (Dictionary<string, SafeTensorInfo>, IReadOnlyDictionary<string, string>) ParseHeader(byte[] header, long dataLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw Bad($"header is not valid JSON ({e.Message})");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Bad("header is not a JSON object");
            }

            var entries = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw Bad("__metadata__ is not an object of strings");
                    }
                    foreach (var item in property.Value.EnumerateObject())
                    {
                        metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String ? item.Value.GetString()! : item.Value.GetRawText();
                    }
                    continue;
                }

                entries[property.Name] = ParseEntry(property.Name, property.Value, dataLength);
            }
            return (entries, metadata);
        }
    }

    private SafeTensorInfo ParseEntry(string name, JsonElement element, long dataLength)
    {
        if (element.ValueKind != JsonValueKind.Object
            || !element.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !element.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !element.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
        {
            throw Bad($"tensor '{name}' needs dtype (string), shape (array) and data_offsets ([begin, end])");
        }

        string dtype = dtypeElement.GetString()!;
        if (!SafeTensorsDtype.TryParse(dtype, out var scalarType, out int elementSize))
        {
            throw Bad($"tensor '{name}' has unknown dtype '{dtype}' (supported: {SafeTensorsDtype.SupportedNames})");
        }

        long[] shape;
        long begin;
        long end;
        try
        {
            shape = shapeElement.EnumerateArray().Select(d => d.GetInt64()).ToArray();
            begin = offsetsElement[0].GetInt64();
            end = offsetsElement[1].GetInt64();
        }
        catch (FormatException)
        {
            throw Bad($"tensor '{name}' has a non-integer shape or data_offsets");
        }

        if (shape.Any(d => d < 0))
        {
            throw Bad($"tensor '{name}' has a negative dimension in shape [{string.Join(", ", shape)}]");
        }
        if (begin < 0 || end < begin)
        {
            throw Bad($"tensor '{name}' has invalid data_offsets [{begin}, {end}]");
        }
        if (end > dataLength)
        {
            throw Bad($"tensor '{name}' data_offsets [{begin}, {end}] run past the end of the data ({dataLength} bytes); the file is truncated");
        }

        long expected = elementSize;
        foreach (long d in shape)
        {
            expected = checked(expected * d);
        }
        if (expected != end - begin)
        {
            throw Bad($"tensor '{name}' shape [{string.Join(", ", shape)}] of {dtype} needs {expected} bytes but data_offsets [{begin}, {end}] span {end - begin}");
        }

        return new SafeTensorInfo(name, dtype, scalarType, shape, begin, end);
    }

    private InvalidDataException Bad(string what) =>
        new($"{Path}: invalid safetensors file: {what}.");
}
